#include "support/fresh_heap.hpp"

#include <pthread.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>

#include <ouro/gc.hpp>

namespace ouro_test {

bool incremental_under_test() {
  static const bool incremental = [] {
    const char* s = std::getenv("OURO_TEST_SCHEDULE");
    return s != nullptr && std::strcmp(s, "incremental") == 0;
  }();
  return incremental;
}

namespace {

void use_the_schedule_under_test() {
  if (incremental_under_test()) ouro::gc::set_schedule(ouro::gc::Schedule::incremental);
}

// The main thread's heap, for the tests that run on it.
const bool g_main_thread_scheduled = (use_the_schedule_under_test(), true);

}  // namespace

void in_fresh_heap(std::function<void()> body) {
  std::exception_ptr error;
  std::thread worker([&] {
    try {
      use_the_schedule_under_test();
      body();
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error) std::rethrow_exception(error);
}

namespace {

struct StackThreadJob {
  std::function<void()> body;
  std::exception_ptr error;
};

void* run_stack_thread_job(void* arg) {
  auto* job = static_cast<StackThreadJob*>(arg);
  try {
    job->body();
  } catch (...) {
    job->error = std::current_exception();
  }
  return nullptr;
}

}  // namespace

void on_thread_with_stack(std::size_t stack_bytes, std::function<void()> body) {
  StackThreadJob job{std::move(body), nullptr};
  pthread_attr_t attr;
  int rc = pthread_attr_init(&attr);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_attr_init");
  rc = pthread_attr_setstacksize(&attr, stack_bytes);
  if (rc != 0) {
    pthread_attr_destroy(&attr);
    throw std::system_error(rc, std::generic_category(), "pthread_attr_setstacksize");
  }
  pthread_t thread;
  rc = pthread_create(&thread, &attr, &run_stack_thread_job, &job);
  pthread_attr_destroy(&attr);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_create");
  rc = pthread_join(thread, nullptr);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_join");
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace ouro_test
