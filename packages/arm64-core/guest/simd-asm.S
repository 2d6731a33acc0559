/*
 * simd_moves(out, buf): the FP/AdvSIMD moves, immediates and loads/stores
 * compilers emit for copies and U-Boot uses, with results stored to out[].
 * x0 = out (u64[64]), x1 = buf (64 bytes of pattern, 16-aligned, 256 bytes).
 */
	.text
	.globl	simd_moves
simd_moves:
	mov	x9, x0
	/* LDR/STR of Q, D, S, H, B with immediate, pre/post-index and register offsets. */
	ldr	q0, [x1]
	ldr	q1, [x1, #16]!
	ldr	d2, [x1], #8
	ldr	s3, [x1, #4]
	ldr	h4, [x1, #6]
	ldr	b5, [x1, #9]
	mov	x10, #3
	ldr	q6, [x1, x10, lsl #4]
	ldur	q7, [x1, #-3]
	str	q0, [x9], #16
	str	q1, [x9], #16
	str	q2, [x9], #16
	str	q3, [x9], #16
	str	q4, [x9], #16
	str	q5, [x9], #16
	str	q6, [x9], #16
	str	q7, [x9], #16
	/* Pairs. */
	ldp	q8, q9, [x1, #32]
	stp	q9, q8, [x9], #32
	ldp	d10, d11, [x1, #-16]!
	stp	d11, d10, [x9], #16
	ldp	s12, s13, [x1], #8
	stp	s13, s12, [x9], #8
	/* STR of D/S/H/B narrow widths over a filled slot. */
	mov	x10, #-1
	stp	x10, x10, [x9]
	str	h0, [x9]
	str	b1, [x9, #4]
	str	s2, [x9, #8]
	add	x9, x9, #16
	/* LD1/ST1 multiple structures. */
	sub	x1, x1, #8
	ld1	{v16.16b, v17.16b}, [x1], #32
	ld1	{v18.2d}, [x1]
	sub	x1, x1, #32
	st1	{v16.4s-v18.4s}, [x9], #48
	mov	x10, #16
	ld1	{v19.8b, v20.8b, v21.8b, v22.8b}, [x1], x10
	st1	{v19.1d-v22.1d}, [x9], #32
	/* FMOV general and register. */
	ldr	x10, =0x0123456789abcdef
	fmov	d23, x10
	fmov	v23.d[1], x10
	fmov	s24, w10
	fmov	x11, d23
	fmov	w12, s24
	fmov	x13, v23.d[1]
	fmov	d25, d23
	fmov	s26, s23
	stp	x11, x12, [x9], #16
	str	x13, [x9], #8
	str	q23, [x9], #16
	str	q24, [x9], #16
	str	q25, [x9], #16
	str	q26, [x9], #16
	/* MOVI, MVNI, ORR/BIC (immediate). */
	movi	v0.16b, #0xa5
	movi	v1.2d, #0xff00ff0000ff00ff
	movi	d2, #0xff0000000000ffff
	movi	v3.4s, #0x12, lsl #16
	movi	v4.8h, #0x34, lsl #8
	movi	v5.2s, #0x56, msl #8
	mvni	v6.4s, #0x78, lsl #24
	mvni	v7.4h, #0x9a
	mvni	v8.4s, #0x1, msl #16
	mov	v9.16b, v1.16b
	orr	v9.4s, #0xf0
	mov	v10.16b, v0.16b
	bic	v10.8h, #0x25
	st1	{v0.16b-v3.16b}, [x9], #64
	st1	{v4.16b-v7.16b}, [x9], #64
	st1	{v8.16b-v10.16b}, [x9], #48
	/* DUP, INS, UMOV, SMOV. */
	ldr	x10, =0xfedcba9876543210
	dup	v11.16b, w10
	dup	v12.8h, w10
	dup	v13.2s, w10
	dup	v14.2d, x10
	dup	v15.4s, v14.s[1]
	mov	v16.16b, v0.16b
	mov	v16.b[3], w10
	mov	v16.h[6], w10
	mov	v16.s[1], w10
	mov	v16.d[1], x10
	mov	v16.s[0], v14.s[1]
	st1	{v11.16b-v14.16b}, [x9], #64
	st1	{v15.16b-v16.16b}, [x9], #32
	umov	w11, v16.b[15]
	umov	w12, v16.h[1]
	mov	w13, v16.s[3]
	mov	x14, v16.d[0]
	smov	x15, v16.b[4]
	smov	w16, v16.h[7]
	smov	x17, v16.s[2]
	stp	x11, x12, [x9], #16
	stp	x13, x14, [x9], #16
	stp	x15, x16, [x9], #16
	str	x17, [x9], #8
	/* Bitwise vector ops. */
	and	v17.16b, v1.16b, v16.16b
	bic	v18.16b, v16.16b, v1.16b
	orr	v19.16b, v1.16b, v14.16b
	orn	v20.8b, v0.8b, v16.8b
	eor	v21.16b, v16.16b, v14.16b
	mov	v22.16b, v1.16b
	bsl	v22.16b, v16.16b, v0.16b
	mov	v23.16b, v1.16b
	bit	v23.16b, v16.16b, v0.16b
	mov	v24.16b, v1.16b
	bif	v24.16b, v16.16b, v0.16b
	st1	{v17.16b-v20.16b}, [x9], #64
	st1	{v21.16b-v24.16b}, [x9], #64
	sub	x0, x9, x0
	ret
