/* placeholder: not yet written */
#include <stdio.h>
int main(void) { fputs("medsam-segment: not implemented yet\n", stderr); return 1; }
