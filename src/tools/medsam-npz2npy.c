/* placeholder: not yet written */
#include <stdio.h>
int main(void) { fputs("medsam-npz2npy: not implemented yet\n", stderr); return 1; }
