/* A PPP host the project did not write: lwIP's PPPoS client (upstream lwIP, built here with
 * lwipopts.h) dials over a bg95sim pseudo-terminal as a microcontroller would, gets an address,
 * and fetches one file over HTTP/1.0 from a server through the gateway address. Then it ends the
 * link with LCP Terminate and waits for NO CARRIER.
 *
 * ppp_peer <pty> <server-ip-or-name> <port> <path> <out-file> [<dial> [<user> <password>]]
 * prints "ADDRESS <ip>", "GATEWAY <ip>", "DNS <ip>", "RESOLVED <name> <ip>" (a name only), "FETCHED
 * <bytes> <seconds>" and "ENDED" on stdout; exits 0 when all went through, 1 otherwise. */

#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lwip/dns.h"
#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "netif/ppp/pppos.h"

static int fd = -1;
static struct netif ppp_netif;
static ppp_pcb* ppp;
static int link_up = 0, link_down = 0, fetched = 0, failed = 0;
static ip_addr_t server;
static u16_t server_port;
static const char* path;
static const char* server_name; /* when the server is given by name */
static FILE* out;
static size_t received;
static int header_done;
static char header[4096];
static size_t header_len;
static struct timespec started;
/* The last bytes read from the port: NO CARRIER may come in the read that ends the link. */
static char tail[256];
static char after[4096]; /* bytes read past what wait_for waited for */
static size_t after_len;
static size_t tail_len;

static void remember(const unsigned char* data, size_t n) {
  if (n >= sizeof tail) {
    memcpy(tail, data + n - sizeof tail, sizeof tail);
    tail_len = sizeof tail;
    return;
  }
  if (tail_len + n > sizeof tail) {
    size_t drop = tail_len + n - sizeof tail;
    memmove(tail, tail + drop, tail_len - drop);
    tail_len -= drop;
  }
  memcpy(tail + tail_len, data, n);
  tail_len += n;
}

u32_t sys_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (u32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* PPP's magic-number churn asks for it (lwIP's sys.h). */
u32_t sys_jiffies(void) {
  return sys_now();
}

static double seconds_since(const struct timespec* t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static u32_t output(ppp_pcb* pcb, const void* data, u32_t len, void* ctx) {
  (void)pcb;
  (void)ctx;
  const char* p = data;
  u32_t left = len;
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return 0;
    }
    p += n;
    left -= (u32_t)n;
  }
  return len;
}

/* The body after the header; the header's end is found across segments. */
static void take(const char* data, size_t len) {
  if (!header_done) {
    size_t room = sizeof header - header_len;
    size_t n = len < room ? len : room;
    memcpy(header + header_len, data, n);
    header_len += n;
    char* end = NULL;
    for (size_t i = 3; i < header_len; ++i)
      if (memcmp(header + i - 3, "\r\n\r\n", 4) == 0) {
        end = header + i + 1;
        break;
      }
    if (!end) return;
    header_done = 1;
    if (strncmp(header, "HTTP/1.", 7) != 0 || strncmp(header + 8, " 200", 4) != 0) failed = 1;
    size_t body = header_len - (size_t)(end - header);
    fwrite(end, 1, body, out);
    received += body;
    data += n; /* the rest of this segment, past what the header buffer took */
    len -= n;
  }
  fwrite(data, 1, len, out);
  received += len;
}

static err_t on_recv(void* arg, struct tcp_pcb* pcb, struct pbuf* p, err_t err) {
  (void)arg;
  if (err != ERR_OK) return err;
  if (!p) {             /* the server closed: HTTP/1.0 ends the body so */
    tcp_err(pcb, NULL); /* the link going down next aborts what is left of it */
    tcp_close(pcb);
    fflush(out);
    fetched = header_done && !failed;
    printf("FETCHED %zu %.6f\n", received, seconds_since(&started));
    fflush(stdout);
    ppp_close(ppp, 0);
    return ERR_OK;
  }
  for (struct pbuf* q = p; q; q = q->next)
    take(q->payload, q->len);
  tcp_recved(pcb, p->tot_len);
  pbuf_free(p);
  return ERR_OK;
}

static void on_error(void* arg, err_t err) {
  (void)arg;
  fprintf(stderr, "ppp_peer: TCP error %d\n", err);
  failed = 1;
  ppp_close(ppp, 0);
}

static err_t on_connected(void* arg, struct tcp_pcb* pcb, err_t err) {
  (void)arg;
  if (err != ERR_OK) return err;
  char request[512];
  int n = snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nHost: %s:%u\r\n\r\n", path,
                   ipaddr_ntoa(&server), server_port);
  clock_gettime(CLOCK_MONOTONIC, &started);
  return tcp_write(pcb, request, (u16_t)n, TCP_WRITE_FLAG_COPY);
}

static void start_fetch(void) {
  struct tcp_pcb* t = tcp_new();
  tcp_recv(t, on_recv);
  tcp_err(t, on_error);
  tcp_connect(t, &server, server_port, on_connected);
}

static void on_resolved(const char* name, const ip_addr_t* address, void* arg) {
  (void)arg;
  if (!address) {
    fprintf(stderr, "ppp_peer: %s not resolved\n", name);
    failed = 1;
    ppp_close(ppp, 0);
    return;
  }
  server = *address;
  printf("RESOLVED %s %s\n", name, ipaddr_ntoa(address));
  fflush(stdout);
  start_fetch();
}

static void status(ppp_pcb* pcb, int code, void* ctx) {
  (void)pcb;
  (void)ctx;
  if (code == PPPERR_NONE) {
    link_up = 1;
    printf("ADDRESS %s\n", ip4addr_ntoa(netif_ip4_addr(&ppp_netif)));
    printf("GATEWAY %s\n", ip4addr_ntoa(netif_ip4_gw(&ppp_netif)));
    printf("DNS %s\n", ipaddr_ntoa(dns_getserver(0)));
    fflush(stdout);
    if (server_name) {
      /* A name: asked of the DNS server IPCP handed out. */
      err_t e = dns_gethostbyname(server_name, &server, on_resolved, NULL);
      if (e == ERR_OK) on_resolved(server_name, &server, NULL);
      if (e != ERR_OK && e != ERR_INPROGRESS) on_resolved(server_name, NULL, NULL);
      return;
    }
    start_fetch();
    return;
  }
  if (code == PPPERR_USER) {
    link_down = 1;
    return;
  }
  fprintf(stderr, "ppp_peer: PPP status %d\n", code);
  failed = 1;
  link_down = 1;
}

/* Reads from the port until `needle` or the deadline; 0 when it came. */
static int wait_for(const char* needle, int timeout_ms) {
  char seen[4096];
  size_t n = 0;
  /* What came before, in the reads PPP took, counts. */
  memcpy(seen, tail, tail_len);
  n = tail_len;
  tail_len = 0;
  if (memmem(seen, n, needle, strlen(needle))) return 0;
  u32_t deadline = sys_now() + (u32_t)timeout_ms;
  while ((s32_t)(deadline - sys_now()) > 0) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t r = read(fd, seen + n, sizeof seen - 1 - n);
    if (r <= 0) continue;
    n += (size_t)r;
    /* PPP's bytes before may hold NULs: no string functions. */
    const char* at = memmem(seen, n, needle, strlen(needle));
    if (at) {
      /* What came after it in the same read (the module's first LCP frame after CONNECT) is
       * PPP's: kept for it. */
      const char* rest = at + strlen(needle);
      after_len = (size_t)(seen + n - rest);
      memcpy(after, rest, after_len);
      return 0;
    }
    if (n > sizeof seen / 2) {
      memmove(seen, seen + n / 2, n - n / 2);
      n -= n / 2;
    }
  }
  fprintf(stderr, "ppp_peer: no \"%s\"\n", needle);
  return -1;
}

int main(int argc, char** argv) {
  if (argc < 6) {
    fprintf(stderr,
            "usage: ppp_peer <pty> <server-ip> <port> <path> <out-file> [<dial> [<user> "
            "<password>]]\n");
    return 2;
  }
  fd = open(argv[1], O_RDWR | O_NOCTTY);
  if (fd < 0) return perror("open"), 1;
  struct termios tio;
  tcgetattr(fd, &tio);
  cfmakeraw(&tio);
  tcsetattr(fd, TCSANOW, &tio);
  if (!ipaddr_aton(argv[2], &server)) server_name = argv[2];
  server_port = (u16_t)atoi(argv[3]);
  path = argv[4];
  out = fopen(argv[5], "wb");
  if (!out) return perror("fopen"), 1;
  const char* dial = argc > 6 ? argv[6] : "ATD*99#";

  char line[64];
  snprintf(line, sizeof line, "%s\r", dial);
  if (write(fd, line, strlen(line)) < 0 || wait_for("CONNECT\r\n", 10000) != 0) return 1;

  lwip_init();
  ppp = pppos_create(&ppp_netif, output, status, NULL);
  ppp_set_default(ppp);
  ppp_set_usepeerdns(ppp, 1);
  if (argc > 8) ppp_set_auth(ppp, PPPAUTHTYPE_ANY, argv[7], argv[8]);
  ppp_connect(ppp, 0);
  if (after_len > 0) pppos_input(ppp, after, (int)after_len);

  u32_t deadline = sys_now() + 60000;
  unsigned char buf[4096];
  while (!link_down && (s32_t)(deadline - sys_now()) > 0) {
    struct pollfd p = {fd, POLLIN, 0};
    u32_t wait = sys_timeouts_sleeptime();
    if (poll(&p, 1, wait > 10 ? 10 : (int)wait) > 0) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        remember(buf, (size_t)n);
        pppos_input(ppp, buf, (int)n);
      }
    }
    sys_check_timeouts();
  }
  fclose(out);
  if (!link_down) return fprintf(stderr, "ppp_peer: timed out\n"), 1;
  /* After LCP Terminate the module leaves data mode. */
  if (wait_for("NO CARRIER", 5000) != 0) return 1;
  printf("ENDED\n");
  return link_up && fetched && !failed ? 0 : 1;
}
