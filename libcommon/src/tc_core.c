#include "tc/tc_core.h"

const char *tc_strerror(int rc)
{
    switch (rc) {
    case TC_OK:
        return "ok";
    case TC_ERROR:
        return "error";
    case TC_ENOMEM:
        return "out of memory";
    case TC_ETIMEDOUT:
        return "timed out";
    case TC_ENOTFOUND:
        return "not found";
    case TC_ECONFLICT:
        return "conflict";
    case TC_EUNAVAIL:
        return "unavailable";
    case TC_EINVAL:
        return "invalid";
    case TC_EDENIED:
        return "denied";
    case TC_EAGAIN:
        return "try again";
    default:
        return "unknown";
    }
}
