// A C++ target: its frames must show demangled, qualified names.
#include <atomic>
#include <cstdio>
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
	if (argc != 2)
		return 2;
	shop::Basket<long> basket;
	std::thread t([&] { shop::checkout(basket, 7); });
	std::ofstream(std::string(argv[1]) + "/ready") << getpid() << "\n";
	t.join();
}
