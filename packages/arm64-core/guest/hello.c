/* The smallest program: prints through the PL011 and powers off. */
#include "rt.h"

int main(void)
{
	start("hello");
	put_hex("x", 0x0123456789abcdefull);
	finish();
	return 0;
}
