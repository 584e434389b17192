#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"

#include <stdio.h>
#include <unistd.h>

static void
test_append_within_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_int_equal(buf_printf(&b, "%d%s", 12, "de"), 0);
	assert_int_equal(b.len, 7);
	assert_string_equal((char *)b.data, "abc12de");
	assert_int_equal(buf_putc(&b, 'x'), 0);
	assert_int_equal(b.len, 8);
	buf_release(&b);
}

static void
test_cap_is_an_error_not_a_truncation(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_int_equal(buf_puts(&b, "de"), -E2BIG);
	assert_int_equal(buf_printf(&b, "%s", "zz"), -E2BIG);
	assert_int_equal(b.len, 3);
	assert_string_equal((char *)b.data, "abc");
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -E2BIG);
	buf_release(&b);
}

static void
test_steal_and_reset(void **state)
{
	struct buf b;
	uint8_t *p;
	size_t n;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, "\0\1\2", 3), 0);
	buf_steal(&b, &p, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "\0\1\2", 3);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(p);
	assert_int_equal(buf_puts(&b, "q"), 0);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_read_file(void **state)
{
	char path[] = "/tmp/test_buf.XXXXXX";
	struct buf b;
	FILE *f;
	int fd, i;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (i = 0; i < 3000; i++)	/* 9000 bytes: more than one read */
		fputs("ab\n", f);
	fclose(f);
	buf_init(&b, 9000);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_int_equal(b.len, 9000);
	assert_memory_equal(b.data + 8997, "ab\n", 3);
	buf_release(&b);
	buf_init(&b, 8999);	/* one byte short: an error, not a cut file */
	assert_int_equal(buf_read_file(&b, path), -E2BIG);
	buf_release(&b);
	unlink(path);
	assert_int_equal(buf_read_file(&b, path), -ENOENT);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_within_cap),
		cmocka_unit_test(test_cap_is_an_error_not_a_truncation),
		cmocka_unit_test(test_steal_and_reset),
		cmocka_unit_test(test_read_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
