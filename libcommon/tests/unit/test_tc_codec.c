/* tc_codec: hex and its refusals (base64 and percent-decoding vectors live with their first
 * users' suites, test_crypto and test_router). */
#include <criterion/criterion.h>

#include "tc/tc_codec.h"

#include <string.h>

Test(codec, hex_round_trip_both_cases)
{
    const unsigned char bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char text[2 * sizeof bytes + 1];
    tc_hex_encode(bytes, sizeof bytes, text);
    cr_assert_str_eq(text, "00017f80abff");
    unsigned char back[8];
    cr_assert_eq(tc_hex_decode(text, strlen(text), back, sizeof back), (ssize_t)sizeof bytes);
    cr_assert_arr_eq(back, bytes, sizeof bytes);
    cr_assert_eq(tc_hex_decode("00017F80ABFF", 12, back, sizeof back), (ssize_t)sizeof bytes);
    cr_assert_arr_eq(back, bytes, sizeof bytes);
    cr_assert_eq(tc_hex_decode("", 0, back, sizeof back), 0);
}

Test(codec, hex_refuses_what_it_cannot_represent)
{
    unsigned char out[4];
    cr_assert_eq(tc_hex_decode("abc", 3, out, sizeof out), -1, "odd length");
    cr_assert_eq(tc_hex_decode("0g", 2, out, sizeof out), -1, "not a digit");
    cr_assert_eq(tc_hex_decode("0 ", 2, out, sizeof out), -1, "space");
    cr_assert_eq(tc_hex_decode("0011223344", 10, out, sizeof out), -1, "output too small");
    cr_assert_eq(tc_hex_decode("00112233", 8, out, sizeof out), 4, "exactly the output");
}

Test(codec, hex_nibble)
{
    unsigned v = 99;
    cr_assert(tc_hex_nibble('0', &v) && v == 0);
    cr_assert(tc_hex_nibble('f', &v) && v == 15);
    cr_assert(tc_hex_nibble('F', &v) && v == 15);
    cr_assert(!tc_hex_nibble('g', &v));
    cr_assert(!tc_hex_nibble('\0', &v));
    cr_assert(!tc_hex_nibble('/', &v) && !tc_hex_nibble(':', &v) && !tc_hex_nibble('@', &v));
}

Test(codec, url_decode_refuses_truncated_and_nul_escapes)
{
    char out[16];
    cr_assert_eq(tc_url_decode("a%2Fb", 5, out, sizeof out), 3);
    cr_assert_str_eq(out, "a/b");
    cr_assert_eq(tc_url_decode("a%2", 3, out, sizeof out), -1);
    cr_assert_eq(tc_url_decode("a%00", 4, out, sizeof out), -1);
    cr_assert_eq(tc_url_decode("%zz", 3, out, sizeof out), -1);
    cr_assert_eq(tc_url_decode("abcd", 4, out, 4), -1, "no room for the NUL");
}
