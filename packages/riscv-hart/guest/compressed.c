/* Compressed code: explicit C.* instructions (compressed-asm.S) plus
 * ordinary compiled C, which gcc emits with RV64C for -march=rv64gc. */
#include "rt.h"

const char prog_name[] = "compressed";

void c_ops(u64 *out);
void c_fp(double *io);

static u32 crc32(const u8 *p, unsigned n)
{
	u32 c = 0xffffffffu;
	for (unsigned i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

static void sort(u32 *a, int n)
{
	for (int i = 1; i < n; i++) {
		u32 v = a[i];
		int j = i - 1;
		while (j >= 0 && a[j] > v) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

static u64 fib(u64 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static u8 data[1024];
static u32 arr[64];

int main(void)
{
	static u64 out[32];
	c_ops(out);
	for (int i = 0; i < 27; i++)
		kv("c", out[i]);
	static double fio[4] = { 1.5, 2.25, 0, 0 };
	c_fp(fio);
	u64 bits;
	memcpy(&bits, &fio[2], 8);
	kv("c.fsd", bits);
	memcpy(&bits, &fio[3], 8);
	kv("c.fldsp", bits);
	/* Compiled C: a CRC, an insertion sort, recursion. */
	u32 x = 12345;
	for (unsigned i = 0; i < sizeof(data); i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (u8)(x >> 16);
	}
	kv("crc32", crc32(data, sizeof(data)));
	for (int i = 0; i < 64; i++) {
		x = x * 1103515245u + 12345u;
		arr[i] = x;
	}
	sort(arr, 64);
	u64 ok = 1, sum = 0;
	for (int i = 0; i < 64; i++) {
		if (i && arr[i - 1] > arr[i])
			ok = 0;
		sum += arr[i] * (u64)(i + 1);
	}
	kv("sorted", ok);
	kv("weighted", sum);
	kv("fib20", fib(20));
	return 0;
}
