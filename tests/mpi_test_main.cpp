// GoogleTest main for tests that run as several MPI processes (mpirun -np N):
// MPI lives for the whole program, and only rank 0 prints the results so
// the log reads as one run (every rank's failures still set the exit code).
#include <gtest/gtest.h>

#include "comm/mpi_session.h"

rfm::comm::MpiSession* g_mpi = nullptr;

int main(int argc, char** argv) {
  rfm::comm::MpiSession session;
  g_mpi = &session;
  ::testing::InitGoogleTest(&argc, argv);
  if (session.placement().rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  return failed;
}
