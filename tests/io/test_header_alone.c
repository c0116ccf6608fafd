/* Header self-containment: compiled once per public header with
 * -DMS_HEADER="ms_x.h"; the header must compile on its own, twice (include
 * guard), and with -Werror=missing-prototypes et al. from the project. */
#include MS_HEADER
#include MS_HEADER

int main(void)
{
    return 0;
}
