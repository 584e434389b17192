/*
 * fuzz_register_write: bytes written into /p2p/register, through the pure
 * parser fs_register_parse().  Checks that it never reads past len, that an
 * accepted write is exactly one of the documented words (with at most one
 * trailing newline), and that a rejected write leaves *ret_op untouched.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
is_word(const uint8_t *d, size_t n, const char *w)
{
	size_t wl = strlen(w);

	return (n == wl || (n == wl + 1 && d[wl] == '\n')) &&
	    memcmp(d, w, wl) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum fs_reg_op op = (enum fs_reg_op)77;
	uint8_t *copy;
	int r;

	/* an exact-size heap copy, so ASan sees any read past the end */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	r = fs_register_parse(copy, size, &op);
	if (r == 0) {
		if (op == FS_REG_LEAVE) {
			if (!is_word(copy, size, "leave"))
				abort();
		} else if (op != FS_REG_REGISTER ||
		    !(is_word(copy, size, "") || is_word(copy, size, "register") ||
		    is_word(copy, size, "1"))) {
			abort();
		}
	} else if (op != (enum fs_reg_op)77) {
		abort();
	}
	free(copy);
	return 0;
}
