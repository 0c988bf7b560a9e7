/* The platform glue lwIP asks for (src/include/lwip/arch.h): a 64-bit Linux host. */
#ifndef BG95_PPP_PEER_CC_H
#define BG95_PPP_PEER_CC_H
#include <stdio.h>
#include <stdlib.h>
#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
    printf x;                 \
  } while (0)
#define LWIP_PLATFORM_ASSERT(x)                                                 \
  do {                                                                          \
    fprintf(stderr, "lwIP assertion \"%s\" at %s:%d\n", x, __FILE__, __LINE__); \
    abort();                                                                    \
  } while (0)
#define LWIP_ERRNO_STDINCLUDE 1
#endif
