/* The FP/AdvSIMD subset: moves, immediates, loads/stores of V registers (simd-asm.S). */
#include "rt.h"

u64 simd_moves(u64 *out, u8 *buf);

static u64 out[160];
static u8 buf[256] __attribute__((aligned(16)));

int main(void)
{
	start("simd");
	for (int i = 0; i < 256; i++)
		buf[i] = (u8)(i * 37 + 11);
	u64 n = simd_moves(out, buf);
	put_hex("bytes", n);
	for (u64 i = 0; i < n / 8; i++)
		put_hex("v", out[i]);
	put_hex("fpcr", sysreg_read(fpcr));
	finish();
	return 0;
}
