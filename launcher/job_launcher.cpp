#include "launcher/job_launcher.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "control/job_supervisor.h"
#include "control/message_auth.h"
#include "launcher/worker_supervision.h"
#include "trainer/run/stop_signals.h"

namespace rfm::launcher {
namespace {

std::atomic<int> forwarded_signal{0};

extern "C" void remember_signal(int signal) { forwarded_signal.store(signal); }

std::string self_executable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find the rfm executable (/proc/self/exe)");
  return path.string();
}

// The exit codes of failures that a restart from the same checkpoint
// would meet again (rfm_main.cpp's): configuration, non-finite loss,
// dataset, unreadable checkpoint or feature file.
constexpr int kDeterministicFailures[] = {2, 3, 4, 5};

struct Attempt {
  int exit_code = 0;
  bool asked_to_stop = false;  // a signal was passed on to the workers
};

// One start of mpirun under a supervisor of its own.
Attempt run_attempt(const LaunchRequest& request, int restart) {
  std::mutex mutex;
  std::string failure;
  // A secret of this start's own: a worker of an earlier start, or of
  // another job, cannot speak to this supervisor.
  const auto started = start_job_supervisor(request.config, request.processes,
                                            ranks_stay_on_this_node(request.mpirun_args),
                                            [&](const std::string& reason) {
                                              std::lock_guard<std::mutex> lock(mutex);
                                              failure = reason;
                                            });
  const auto& supervisor = *started.supervisor;
  const std::string& address = started.address;
  const std::string& secret = started.secret;
  const auto& listen = started.listen;

  // -x passes the variables' values from this environment: the secret is on
  // no command line.
  std::vector<std::string> args = {request.mpirun, "-np", std::to_string(request.processes), "-x", "RFM_SUPERVISOR",
                                   "-x", control::kJobSecretVariable, "-x", "RFM_RESTART_COUNT", "-x", "RFM_LOG_TERMINAL"};
  args.insert(args.end(), request.mpirun_args.begin(), request.mpirun_args.end());
  args.push_back(self_executable());
  args.push_back("train");
  args.insert(args.end(), request.worker_args.begin(), request.worker_args.end());
  std::cout << "rfm launch: supervisor at " << address << " (listening on " << listen.bind << ": " << listen.why
            << "); running";
  for (const auto& a : args) std::cout << " " << a;
  std::cout << std::endl;
  ::setenv("RFM_SUPERVISOR", address.c_str(), 1);
  ::setenv(control::kJobSecretVariable, secret.c_str(), 1);
  ::setenv("RFM_RESTART_COUNT", std::to_string(restart).c_str(), 1);
  // mpirun gives the ranks a pseudo-terminal whatever its own output is: the
  // workers draw a progress bar only when ours is a terminal.
  ::setenv("RFM_LOG_TERMINAL", ::isatty(STDOUT_FILENO) != 0 ? "1" : "0", 1);

  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (child == 0) {
    ::setpgid(0, 0);  // its own group: the launcher can end mpirun and every worker it started
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::cerr << "rfm launch: cannot run " << args[0] << ": " << std::strerror(errno) << std::endl;
    std::_Exit(127);
  }
  ::setpgid(child, child);

  Attempt attempt;
  auto since_kill = std::chrono::steady_clock::time_point::max();
  bool killed = false;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child) {
      std::string verdict;
      {
        std::lock_guard<std::mutex> lock(mutex);
        verdict = failure;
      }
      if (!verdict.empty()) {
        std::cerr << "rfm launch: " << verdict << "; the job was aborted" << std::endl;
        // A rank's own failure keeps its exit code (a dataset error stays 4,
        // and is not restarted); a rank that died or hung is 6.
        const int own = supervisor.failure_exit_code();
        attempt.exit_code = own != 0 ? own : kExitRankFailure;
      } else if (WIFEXITED(status)) {
        attempt.exit_code = WEXITSTATUS(status);
      } else {
        std::cerr << "rfm launch: mpirun ended by signal " << WTERMSIG(status) << std::endl;
        attempt.exit_code = 128 + WTERMSIG(status);
      }
      return attempt;
    }
    if (const int s = forwarded_signal.exchange(0); s != 0) {
      // mpirun passes SIGUSR1 on to the workers, which checkpoint and stop.
      ::kill(child, s == SIGINT ? SIGINT : SIGUSR1);
      attempt.asked_to_stop = true;
    }
    bool failed;
    {
      std::lock_guard<std::mutex> lock(mutex);
      failed = !failure.empty();
    }
    if (failed && !killed) {
      std::cerr << "rfm launch: " << failure << "; terminating the job" << std::endl;
      ::kill(-child, SIGTERM);
      ::kill(-child, SIGCONT);  // a stopped process cannot act on SIGTERM
      killed = true;
      since_kill = std::chrono::steady_clock::now();
    }
    if (killed && std::chrono::steady_clock::now() - since_kill > std::chrono::seconds(10)) {
      ::kill(-child, SIGKILL);
      since_kill = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

bool ranks_stay_on_this_node(const std::vector<std::string>& mpirun_args) {
  for (const auto& a : mpirun_args) {
    for (const char* option : {"--host", "-host", "-H", "--hostfile", "-hostfile", "--machinefile", "-machinefile",
                               "--default-hostfile", "-default-hostfile"}) {
      if (a == option || a.rfind(std::string(option) + "=", 0) == 0) return false;
    }
  }
  for (const char* allocation : {"SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "PE_HOSTFILE", "OMPI_MCA_orte_default_hostfile"}) {
    if (std::getenv(allocation) != nullptr) return false;
  }
  return true;
}

bool restart_may_help(int exit_code) {
  if (exit_code == 0 || exit_code == run::kExitRequeue) return false;
  for (const int code : kDeterministicFailures) {
    if (exit_code == code) return false;
  }
  return true;
}

int launch_job(const LaunchRequest& request) {
  if (request.processes < 1) throw std::invalid_argument("--np must be at least 1");
  if (request.max_restarts < 0) throw std::invalid_argument("--max-restarts must be at least 0");
  if (request.max_restarts > 0 && !request.config.checkpoint().resume()) {
    throw std::invalid_argument("--max-restarts needs checkpoint.resume (a restart resumes from the newest checkpoint)");
  }
  if (::geteuid() == 0) {
    // OpenMPI refuses root without both; containers and CI run as root.
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  }
  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  for (int restart = 0;; ++restart) {
    const Attempt attempt = run_attempt(request, restart);
    if (attempt.asked_to_stop || restart >= request.max_restarts || !restart_may_help(attempt.exit_code)) {
      if (restart > 0) std::cout << "rfm launch: the job ended with exit " << attempt.exit_code << " after " << restart
                                 << " restart(s)" << std::endl;
      return attempt.exit_code;
    }
    std::cerr << "rfm launch: the job failed (exit " << attempt.exit_code << "); restart " << restart + 1 << " of "
              << request.max_restarts << ": the workers resume from the newest checkpoint" << std::endl;
  }
}

}  // namespace rfm::launcher
