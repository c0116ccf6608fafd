/* placeholder: not yet written */
#include <stdio.h>
int main(void) { fputs("medsam-pre-grey-rgb: not implemented yet\n", stderr); return 1; }
