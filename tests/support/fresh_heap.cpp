#include "support/fresh_heap.hpp"

#include <pthread.h>

#include <cerrno>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>

namespace ouro_test {

void in_fresh_heap(std::function<void()> body) {
  std::exception_ptr error;
  std::thread worker([&] {
    try {
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
