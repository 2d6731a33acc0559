/*
 * tsvirt's init for the Linux guest: PID 1 in the initramfs that
 * scripts/build-linux-guest.sh builds. Compiled -nostdlib -static against
 * the kernel source's nolibc (included on the command line), so the
 * initramfs holds this one file.
 *
 * It mounts proc, sysfs and devtmpfs; prints the CPUs, memory and PCI
 * devices Linux found; maps the sample GPU's register BAR (resource0) and
 * VRAM BAR (resource2) through sysfs, sets a mode and draws a picture;
 * prints /proc/interrupts; and powers off with reboot(POWER_OFF), which
 * Linux turns into SBI SRST. With `tsvirt.shell` on the kernel command line
 * it reads commands from the console instead (ls, cat, echo, poweroff).
 * Every line it prints starts with "tsvirt-init: " (the tests look for
 * them); a failure prints "tsvirt-init: FAIL ..." and powers off anyway, so
 * the VM exits 0 and the tests fail on the missing lines.
 */

/* Sample GPU (packages/sample-vendor-gpu/SPEC.md) */
#define GPU_VENDOR 0x7e57
#define GPU_DEVICE 0x0001
#define GPU_ID 0x000
#define GPU_VRAM_SIZE 0x004
#define GPU_MODE_WIDTH 0x010
#define GPU_MODE_HEIGHT 0x014
#define GPU_MODE_STRIDE 0x018
#define GPU_MODE_FORMAT 0x01c
#define GPU_MODE_OFFSET 0x020
#define GPU_MODE_ENABLE 0x024
#define FOURCC_XRGB8888 0x34325258u

/* The picture: 320x200, the same mode as the default guest. */
#define WIDTH 320
#define HEIGHT 200
#define STRIDE (WIDTH * 4)

typedef unsigned int u32;
typedef unsigned long u64;

static int failures;

/* dst = a + b (nolibc has no strcat); callers size dst for their paths. */
static char *join(char *dst, const char *a, const char *b)
{
	strcpy(dst, a);
	strcpy(dst + strlen(a), b);
	return dst;
}

static void fail(const char *what, const char *detail)
{
	printf("tsvirt-init: FAIL %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	failures++;
}

/* Read a whole (small) file into buf, NUL-terminated; returns its length or -1. */
static long read_file(const char *path, char *buf, long size)
{
	long n = 0, r;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return n;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	long r;

	if (fd < 0)
		return -1;
	r = write(fd, s, strlen(s));
	close(fd);
	return r == (long)strlen(s) ? 0 : -1;
}

/* Copy a file to the console, each line prefixed so the tests can tell it from kernel messages. */
static void print_file(const char *path, const char *prefix)
{
	static char buf[16384];
	char *line, *nl;

	if (read_file(path, buf, sizeof(buf)) < 0) {
		fail("cannot read", path);
		return;
	}
	for (line = buf; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		printf("%s%s\n", prefix, line);
		if (!nl)
			break;
	}
}

/* The value of `key` in a "key : value" / "key: value" file such as /proc/meminfo. */
static const char *field(char *buf, const char *key)
{
	size_t len = strlen(key);
	char *p = buf;

	while (p && *p) {
		if (!strncmp(p, key, len) && (p[len] == ':' || p[len] == ' ' || p[len] == '\t')) {
			char *v = p + len, *nl;

			while (*v == ' ' || *v == '\t' || *v == ':')
				v++;
			nl = strchr(v, '\n');
			if (nl)
				*nl = 0;
			return v;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static int count_lines_starting(const char *buf, const char *word)
{
	size_t len = strlen(word);
	const char *p = buf;
	int n = 0;

	while (p && *p) {
		if (!strncmp(p, word, len))
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

/*
 * Wait until the console has sent what we wrote (tcdrain). Our lines go
 * through the tty's buffer while printk writes the UART directly; draining
 * before anything that makes the kernel print keeps lines whole.
 */
static void drain(void)
{
	ioctl(1, TCSBRK, (void *)1);
}

static void mount_or_fail(const char *src, const char *dir, const char *type)
{
	if (mount(src, dir, type, 0, NULL) < 0)
		fail("mount", dir);
}

static void report_system(void)
{
	static char buf[16384];
	struct utsname u;
	const char *v;

	if (uname(&u) == 0)
		printf("tsvirt-init: %s %s %s\n", u.sysname, u.release, u.machine);
	if (read_file("/proc/cpuinfo", buf, sizeof(buf)) > 0) {
		printf("tsvirt-init: cpus: %d\n", count_lines_starting(buf, "processor"));
		v = field(buf, "isa");
		if (v)
			printf("tsvirt-init: isa: %s\n", v);
	} else {
		fail("cannot read", "/proc/cpuinfo");
	}
	if (read_file("/sys/devices/system/cpu/online", buf, sizeof(buf)) > 0) {
		char *nl = strchr(buf, '\n');

		if (nl)
			*nl = 0;
		printf("tsvirt-init: cpus online: %s\n", buf);
	}
	if (read_file("/proc/meminfo", buf, sizeof(buf)) > 0 && (v = field(buf, "MemTotal")))
		printf("tsvirt-init: memory: %s total\n", v);
	else
		fail("cannot read", "/proc/meminfo");
}

/* ---- PCI through sysfs ---- */

static unsigned long read_hex_file(const char *dir, const char *name)
{
	char path[256], buf[64];

	join(path, dir, "/");
	join(path + strlen(path), name, "");
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return ~0UL;
	return strtoul(buf, NULL, 16);
}

/* Lists /sys/bus/pci/devices; returns the sample GPU's sysfs directory in gpu (or "" if none). */
static void list_pci(char *gpu, size_t gpu_size)
{
	static char dents[4096];
	int fd = open("/sys/bus/pci/devices", O_RDONLY | O_DIRECTORY);
	int n = 0;
	long len;

	gpu[0] = 0;
	if (fd < 0) {
		fail("cannot open", "/sys/bus/pci/devices");
		return;
	}
	while ((len = getdents64(fd, (struct linux_dirent64 *)dents, sizeof(dents))) > 0) {
		for (long off = 0; off < len;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(dents + off);
			char dir[128];
			unsigned long vendor, device, class;

			off += d->d_reclen;
			if (d->d_name[0] == '.')
				continue;
			join(dir, "/sys/bus/pci/devices/", d->d_name);
			vendor = read_hex_file(dir, "vendor");
			device = read_hex_file(dir, "device");
			class = read_hex_file(dir, "class");
			printf("tsvirt-init: pci %s %x:%x class %x\n", d->d_name, (u32)vendor, (u32)device,
			       (u32)class);
			n++;
			if (vendor == GPU_VENDOR && device == GPU_DEVICE && !gpu[0] && strlen(dir) < gpu_size)
				strcpy(gpu, dir);
		}
	}
	close(fd);
	printf("tsvirt-init: pci devices: %d\n", n);
}

/* Map one BAR through sysfs resourceN (pci_mmap_resource_range); returns its size in *size. */
static void *map_bar(const char *dir, int bar, unsigned long *size)
{
	char path[160], num[2] = { (char)('0' + bar), 0 };
	struct stat st;
	void *p;
	int fd;

	join(path, dir, "/resource");
	join(path + strlen(path), num, "");
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0 || stat(path, &st) < 0) {
		fail("cannot open", path);
		return NULL;
	}
	*size = st.st_size;
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fail("mmap", path);
		return NULL;
	}
	return p;
}

static inline u32 rd32(volatile u32 *regs, u32 off) { return regs[off / 4]; }
static inline void wr32(volatile u32 *regs, u32 off, u32 v) { regs[off / 4] = v; }

/* A 5x7 font for the letters we write, one byte per row, bit 4 = leftmost column. */
static const struct { char c; unsigned char rows[7]; } font[] = {
	{ 'L', { 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f } },
	{ 'I', { 0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e } },
	{ 'N', { 0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11 } },
	{ 'U', { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e } },
	{ 'X', { 0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11 } },
};

static void draw_char(volatile u32 *fb, int x0, int y0, int scale, char c, u32 color)
{
	for (unsigned i = 0; i < sizeof(font) / sizeof(font[0]); i++) {
		if (font[i].c != c)
			continue;
		for (int row = 0; row < 7; row++)
			for (int col = 0; col < 5; col++)
				if (font[i].rows[row] & (0x10 >> col))
					for (int dy = 0; dy < scale; dy++)
						for (int dx = 0; dx < scale; dx++)
							fb[(y0 + row * scale + dy) * WIDTH + x0 + col * scale + dx] = color;
	}
}

/*
 * The picture (apps/vm/test/linux-guest.test.ts checks these pixels): a
 * vertical blue gradient, a yellow disc of radius 40 centred at (160, 80),
 * and "LINUX" in white, 4x scale, from (110, 150).
 */
static void draw(volatile u32 *fb)
{
	for (int y = 0; y < HEIGHT; y++)
		for (int x = 0; x < WIDTH; x++) {
			int dx = x - 160, dy = y - 80;

			fb[y * WIDTH + x] = dx * dx + dy * dy <= 40 * 40 ? 0x00ffd000 : (u32)(0x20 + y * 0xc0 / HEIGHT);
		}
	for (int i = 0; i < 5; i++)
		draw_char(fb, 110 + i * 24, 150, 4, "LINUX"[i], 0x00ffffff);
}

static void gpu_draw(const char *dir)
{
	unsigned long regs_size, vram_size;
	volatile u32 *regs;
	volatile u32 *vram;

	printf("tsvirt-init: gpu at %s\n", dir);
	/* No kernel driver claims the GPU: enable it (memory decode) as a user-space driver does. */
	{
		char path[160];

		drain(); /* pci_enable_device() prints "enabling device" */
		if (write_file(join(path, dir, "/enable"), "1") < 0)
			fail("cannot enable", path);
	}
	regs = map_bar(dir, 0, &regs_size);
	vram = map_bar(dir, 2, &vram_size);
	if (!regs || !vram)
		return;
	printf("tsvirt-init: gpu BAR0 %u bytes, BAR2 %u KiB mapped\n", (u32)regs_size, (u32)(vram_size >> 10));
	if (rd32(regs, GPU_ID) != 0x7e570001) {
		fail("GPU ID register", NULL);
		return;
	}
	if (rd32(regs, GPU_VRAM_SIZE) != vram_size) {
		fail("GPU VRAM_SIZE register", NULL);
		return;
	}
	wr32(regs, GPU_MODE_WIDTH, WIDTH);
	wr32(regs, GPU_MODE_HEIGHT, HEIGHT);
	wr32(regs, GPU_MODE_STRIDE, STRIDE);
	wr32(regs, GPU_MODE_FORMAT, FOURCC_XRGB8888);
	wr32(regs, GPU_MODE_OFFSET, 0);
	wr32(regs, GPU_MODE_ENABLE, 1);
	if (rd32(regs, GPU_MODE_ENABLE) != 1) {
		fail("mode not accepted", NULL);
		return;
	}
	printf("tsvirt-init: display %dx%d XRGB8888 on\n", WIDTH, HEIGHT);
	draw(vram);
	/* Read a pixel back through the mapping: VRAM is memory, not a register file. */
	if (vram[80 * WIDTH + 160] != 0x00ffd000)
		fail("VRAM readback", NULL);
	else
		printf("tsvirt-init: drew the picture into VRAM\n");
}

/*
 * The kernel's log with its levels (syslog(2) READ_ALL, as dmesg reads it):
 * the console shows no level, so warnings from dev_warn() and pr_warn()
 * look like any other line there. Prints every message at KERN_WARNING or
 * worse, and their count, for the tests.
 */
#define SYSLOG_ACTION_READ_ALL 3
#define SYSLOG_ACTION_SIZE_BUFFER 10
#define LOGLEVEL_WARNING 4

static void report_kernel_warnings(void)
{
	static char buf[1 << 18];
	long size = my_syscall3(__NR_syslog, SYSLOG_ACTION_SIZE_BUFFER, 0, 0);
	long n, lines = 0, warnings = 0;
	char *line, *nl;

	if (size <= 0 || size > (long)sizeof(buf) - 1)
		size = sizeof(buf) - 1;
	n = my_syscall3(__NR_syslog, SYSLOG_ACTION_READ_ALL, buf, size);
	if (n < 0) {
		fail("syslog", "READ_ALL");
		return;
	}
	buf[n] = 0;
	for (line = buf; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		lines++;
		/* "<level>text": the facility is 0 (kernel), so the number is the level. */
		if (line[0] == '<' && line[1] >= '0' && line[1] <= '9' && line[2] == '>' &&
		    line[1] - '0' <= LOGLEVEL_WARNING) {
			warnings++;
			printf("tsvirt-init: kernel warning: %s\n", line + 3);
		}
		if (!nl)
			break;
	}
	printf("tsvirt-init: kernel log: %d lines, %d at warning level or worse\n", (int)lines, (int)warnings);
}

/* ---- the shell (tsvirt.shell) ---- */

static void cmd_ls(const char *path)
{
	static char dents[4096];
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	long len;

	if (fd < 0) {
		printf("ls: %s: error %d\n", path, errno);
		return;
	}
	while ((len = getdents64(fd, (struct linux_dirent64 *)dents, sizeof(dents))) > 0)
		for (long off = 0; off < len;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(dents + off);

			off += d->d_reclen;
			if (d->d_name[0] != '.')
				printf("%s%s\n", d->d_name, d->d_type == DT_DIR ? "/" : "");
		}
	close(fd);
}

static void cmd_cat(const char *path)
{
	char buf[512];
	long n;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		printf("cat: %s: error %d\n", path, errno);
		return;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		write(1, buf, n);
	close(fd);
}

static void shell(void)
{
	char line[256];

	printf("tsvirt-init: shell (ls, cat, echo, poweroff)\n");
	for (;;) {
		char *argv[16], *p = line;
		int argc = 0;
		long n;

		printf("# ");
		n = read(0, line, sizeof(line) - 1);
		if (n <= 0)
			return; /* console closed: power off */
		line[n] = 0;
		while (*p && argc < 15) {
			while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
				*p++ = 0;
			if (!*p)
				break;
			argv[argc++] = p;
			while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
				p++;
		}
		argv[argc] = NULL;
		if (argc == 0)
			continue;
		if (!strcmp(argv[0], "poweroff"))
			return;
		if (!strcmp(argv[0], "ls"))
			cmd_ls(argc > 1 ? argv[1] : "/");
		else if (!strcmp(argv[0], "cat"))
			for (int i = 1; i < argc; i++)
				cmd_cat(argv[i]);
		else if (!strcmp(argv[0], "echo")) {
			for (int i = 1; i < argc; i++)
				printf("%s%s", argv[i], i + 1 < argc ? " " : "");
			printf("\n");
		} else
			printf("%s: not found (ls, cat, echo, poweroff)\n", argv[0]);
	}
}

static int cmdline_has(const char *word)
{
	static char buf[1024];
	size_t len = strlen(word);

	if (read_file("/proc/cmdline", buf, sizeof(buf)) <= 0)
		return 0;
	for (char *p = buf; *p; p++)
		if ((p == buf || p[-1] == ' ') && !strncmp(p, word, len) &&
		    (p[len] == 0 || p[len] == ' ' || p[len] == '\n'))
			return 1;
	return 0;
}

int main(void)
{
	char gpu[128];

	printf("tsvirt-init: started as pid %d\n", getpid());
	mount_or_fail("proc", "/proc", "proc");
	mount_or_fail("sysfs", "/sys", "sysfs");
	mount_or_fail("devtmpfs", "/dev", "devtmpfs");
	if (cmdline_has("tsvirt.shell")) {
		shell();
	} else {
		report_system();
		list_pci(gpu, sizeof(gpu));
		if (gpu[0])
			gpu_draw(gpu);
		else
			fail("no sample GPU", "7e57:0001 not in /sys/bus/pci/devices");
		print_file("/proc/interrupts", "tsvirt-init: interrupts: ");
		report_kernel_warnings();
		printf("tsvirt-init: %s, powering off\n", failures ? "FAILED" : "all done");
	}
	drain();
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	/* Not reached: reboot() returns only on error, and PID 1 must not exit. */
	printf("tsvirt-init: FAIL reboot: error %d\n", errno);
	for (;;)
		sleep(3600);
}
