// A C++ target: its frames must show demangled, qualified names. Thread
// "adder" spins in a template member; thread "waiter" blocks in
// std::condition_variable::wait with a predicate (a template member
// inlined into a lambda, itself inlined into std::thread's code).
//
// usage: target-cxx DIR [locks]. With "locks", two threads more, for the
// lock class: "holder" takes a std::mutex and sleeps with it for good,
// "lockwait" blocks in std::mutex::lock on it.
#include <atomic>
#include <condition_variable>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <pthread.h>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace shop {
template <typename T> struct Basket {
	volatile T total = 0;
	__attribute__((noinline)) void add(T price)
	{
		while (!stop_flag.load(std::memory_order_relaxed)) total = total * 3 + price; // CXX-LEAF
	}
	static std::atomic<bool> stop_flag;
};
template <typename T> std::atomic<bool> Basket<T>::stop_flag{ false };

__attribute__((noinline)) void checkout(Basket<long> &b, long price)
{
	b.add(price);
	asm volatile("" ::: "memory");
}
} // namespace shop

int main(int argc, char **argv)
{
	if (argc != 2 && !(argc == 3 && std::strcmp(argv[2], "locks") == 0))
		return 2;
	shop::Basket<long> basket;
	std::mutex m;
	std::condition_variable cv;
	bool done = false;
	std::thread t([&] {
		pthread_setname_np(pthread_self(), "adder");
		shop::checkout(basket, 7);
	});
	std::thread w([&] {
		pthread_setname_np(pthread_self(), "waiter");
		std::unique_lock<std::mutex> lock(m);
		cv.wait(lock, [&] { return done; }); // CXX-WAIT
	});
	std::mutex held;
	std::atomic<bool> taken{ false };
	if (argc == 3) {
		std::thread([&] {
			pthread_setname_np(pthread_self(), "holder");
			held.lock();
			taken = true;
			for (;;)
				std::this_thread::sleep_for(std::chrono::hours(1));
		}).detach();
		while (!taken)
			std::this_thread::yield();
		std::thread([&] {
			pthread_setname_np(pthread_self(), "lockwait");
			held.lock(); // never: the holder keeps it
			std::abort();
		}).detach();
		usleep(100000); // until lockwait is blocked on it
	}
	std::ofstream(std::string(argv[1]) + "/ready") << getpid() << "\n";
	t.join();
	w.join();
}
