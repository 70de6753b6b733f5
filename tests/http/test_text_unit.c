/*
 * test_text_unit.c - the CSV field writer (service/text.c): RFC 4180
 * quoting and the neutralising of spreadsheet formulas, field by field.
 */
#include "service/svc_text.h"
#include "tests/testutil.h"

static void field_is(const char *in, const char *want)
{
	struct util_buf b;
	util_buf_init(&b, 1024);
	svc_csv_field(&b, in);
	T_EQ_STR(b.p != NULL ? b.p : "", want);
	util_buf_free(&b);
}

int main(void)
{
	field_is("", "");
	field_is("www.example.com", "www.example.com");
	field_is("a,b", "\"a,b\"");
	field_is("say \"hi\"", "\"say \"\"hi\"\"\"");
	field_is("two\nlines", "\"two\nlines\"");
	field_is("cr\rhere", "\"cr\rhere\"");
	/* what a spreadsheet would run as a formula becomes text */
	field_is("=1+1", "\"'=1+1\"");
	field_is("+1", "\"'+1\"");
	field_is("-1", "\"'-1\"");
	field_is("@SUM(A1)", "\"'@SUM(A1)\"");
	field_is("\tx", "\"'\tx\"");
	field_is("\rx", "\"'\rx\"");
	field_is("=HYPERLINK(\"u\")", "\"'=HYPERLINK(\"\"u\"\")\"");
	/* only the first character counts */
	field_is("a=b", "a=b");
	field_is("2001:db8::1", "2001:db8::1");

	struct util_buf b;
	util_buf_init(&b, 1024);
	const char *row[] = {"x", NULL, "y,z"};
	svc_csv_row(&b, row, 3);
	T_EQ_STR(b.p, "x,,\"y,z\"\r\n");
	util_buf_free(&b);
	/* a full buffer fails cleanly */
	util_buf_init(&b, 4);
	svc_csv_field(&b, "abcdefgh");
	T_CHECK(b.err != 0);
	util_buf_free(&b);
	return t_done();
}
