/* hub_text: how much of a sender's or an endpoint's bytes can be kept as text. */
#include "hub_text.h"

#include <criterion/criterion.h>
#include <string.h>

#define PREFIX(s) hub_utf8_prefix((s), sizeof(s) - 1, 1 << 20)

Test(hub_text, plain_text_is_kept_whole)
{
    cr_assert_eq(PREFIX("hello\r\nworld\t{}"), 15);
    cr_assert_eq(PREFIX(""), 0);
    cr_assert_eq(PREFIX("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), 14,
                 "2-, 3- and 4-byte forms");
}

Test(hub_text, ends_before_the_first_byte_text_cannot_hold)
{
    cr_assert_eq(PREFIX("ab\0cd"), 2, "NUL");
    cr_assert_eq(PREFIX("ab\xff"), 2, "a byte no sequence starts with");
    cr_assert_eq(PREFIX("ab\x80"), 2, "a stray continuation byte");
    cr_assert_eq(PREFIX("ab\xc0\xaf"), 2, "an overlong 2-byte form");
    cr_assert_eq(PREFIX("ab\xe0\x80\xaf"), 2, "an overlong 3-byte form");
    cr_assert_eq(PREFIX("ab\xed\xa0\x80"), 2, "a UTF-16 surrogate");
    cr_assert_eq(PREFIX("ab\xf4\x90\x80\x80"), 2, "above U+10FFFF");
    cr_assert_eq(PREFIX("ab\xe2\x82"), 2, "a sequence cut short by the end");
    cr_assert_eq(PREFIX("ab\xe2\x28\xa1"), 2, "a sequence broken in its middle");
}

Test(hub_text, never_cuts_a_character_at_the_limit)
{
    const char *s = "a\xc3\xa9z"; /* a é z: 4 bytes */
    cr_assert_eq(hub_utf8_prefix(s, 4, 2), 1, "é does not fit in 2 bytes after a");
    cr_assert_eq(hub_utf8_prefix(s, 4, 3), 3);
    cr_assert_eq(hub_utf8_prefix(s, 4, 0), 0);
}
