/* cli_parse_size / cli_parse_max_memory: the --max-memory SIZE convention. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ms_test.h"

static int ok(const char *s, uint64_t want)
{
    uint64_t v = 12345;
    return cli_parse_size(s, &v) == 0 && v == want;
}

static int bad(const char *s)
{
    uint64_t v = 12345;
    return cli_parse_size(s, &v) == -1 && v == 12345;
}

int main(void)
{
    CHECK(ok("1", 1));
    CHECK(ok("1048576", 1048576));
    CHECK(ok("4G", (uint64_t)4 << 30));
    CHECK(ok("4GiB", (uint64_t)4 << 30));
    CHECK(ok("4GB", (uint64_t)4 << 30));
    CHECK(ok("512M", (uint64_t)512 << 20));
    CHECK(ok("64k", 65536));
    CHECK(ok("64K", 65536));
    CHECK(ok("2T", (uint64_t)2 << 40));
    CHECK(ok("18446744073709551615", UINT64_MAX));
    CHECK(ok("16777215T", (uint64_t)16777215 << 40));
    CHECK(bad("18446744073709551616"));   /* 2^64 */
    CHECK(bad("16777216T"));              /* 2^64 after the shift */
    CHECK(bad(""));
    CHECK(bad(NULL));
    CHECK(bad("0"));
    CHECK(bad("0G"));
    CHECK(bad("-1"));
    CHECK(bad("+1"));
    CHECK(bad(" 1"));
    CHECK(bad("1 "));
    CHECK(bad("1.5G"));
    CHECK(bad("G"));
    CHECK(bad("1g"));
    CHECK(bad("1m"));
    CHECK(bad("1GiBs"));
    CHECK(bad("1Gi"));
    CHECK(bad("1X"));
    CHECK(bad("0x10"));

    ms_limits lim = {0};
    CHECK(cli_parse_max_memory("1M", &lim) == 0 && lim.max_bytes == 1048576);
    CHECK(cli_parse_max_memory("nope", &lim) == -1 && lim.max_bytes == 1048576);
    TEST_END();
}
