# `cmake --install build --prefix PREFIX`: what a cluster module or a
# container ships.
#   PREFIX/bin/rfm
#   PREFIX/share/rfm-cluster/{configs,slurm,python,deploy}
# The Slurm scripts find the installed rfm from RFM_HOME=PREFIX/share/rfm-cluster
# (slurm/rfm-step).  rfm keeps, as its install run path, the folders of the
# libraries it was linked against outside the system's (LibTorch's, the
# wheel's NCCL, CUDA's runtime), so that it runs without LD_LIBRARY_PATH as
# long as that Python environment stays where it is (deploy/apptainer/rfm.def
# installs into the image beside its environment).
include(GNUInstallDirs)
set(rfm_share_dir ${CMAKE_INSTALL_DATADIR}/rfm-cluster)
# The folders named one by one: CMake's INSTALL_RPATH_USE_LINK_PATH would also
# keep the MKL folders LibTorch's CMake lists for other platforms.
set(rfm_install_rpath)
foreach(rfm_linked IN ITEMS ${TORCH_LIBRARY} ${NCCL_LIBRARY} ${CUDA_CUDART})
  if(IS_ABSOLUTE "${rfm_linked}" AND EXISTS "${rfm_linked}")
    get_filename_component(rfm_linked_dir "${rfm_linked}" DIRECTORY)
    list(APPEND rfm_install_rpath "${rfm_linked_dir}")
  endif()
endforeach()
list(REMOVE_DUPLICATES rfm_install_rpath)
set_target_properties(rfm PROPERTIES INSTALL_RPATH "${rfm_install_rpath}")
install(TARGETS rfm RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY configs DESTINATION ${rfm_share_dir})
install(DIRECTORY deploy/grafana deploy/prometheus DESTINATION ${rfm_share_dir}/deploy)
install(FILES deploy/README.md DESTINATION ${rfm_share_dir}/deploy)
install(PROGRAMS slurm/rfm-step slurm/rfm-train.sbatch slurm/rfm-grid-point.sbatch slurm/submit-grid
        DESTINATION ${rfm_share_dir}/slurm)
install(FILES slurm/README.md DESTINATION ${rfm_share_dir}/slurm)
install(PROGRAMS python/export_onnx.py DESTINATION ${rfm_share_dir}/python)
install(FILES python/rfm_model.py DESTINATION ${rfm_share_dir}/python)
