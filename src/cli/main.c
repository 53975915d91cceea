#include <stdio.h>
int main(void) { puts("polyrec"); return 0; }
