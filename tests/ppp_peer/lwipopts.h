/* lwIP configuration of the PPP test peer (ppp_peer.c): no OS (NO_SYS), raw API, PPP over
 * serial with PAP and CHAP, IPv4 and DNS. Option names: lwIP's src/include/lwip/opt.h and
 * src/include/netif/ppp/ppp_opts.h. */
#ifndef BG95_PPP_PEER_LWIPOPTS_H
#define BG95_PPP_PEER_LWIPOPTS_H

#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_DNS 1
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_RAND() ((u32_t)rand())

#define MEM_ALIGNMENT 8
#define MEM_SIZE (256 * 1024)
#define PBUF_POOL_SIZE 128
#define MEMP_NUM_TCP_SEG 128
#define TCP_MSS 1460
#define TCP_WND (32 * TCP_MSS)
#define TCP_SND_BUF (8 * TCP_MSS)
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 2

#define PPP_SUPPORT 1
#define PPPOS_SUPPORT 1
#define PAP_SUPPORT 1
#define CHAP_SUPPORT 1
#define PPP_IPV4_SUPPORT 1
#define PPP_IPV6_SUPPORT 0
#define PPP_INPROC_IRQ_SAFE 0
#define LWIP_PPP_API 0
#define PPP_DEBUG LWIP_DBG_OFF

#endif
