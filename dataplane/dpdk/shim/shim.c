/*
 * libtsdpdk.so: the only code of tunnelscope linked with DPDK. Package dpdk
 * embeds it and dlopen()s it when the EAL starts (see api.h for why); it
 * exports nothing but the table below.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_mbuf_dyn.h>

#include "api.h"

/* ts_eal_init reads rte_errno in the same C call because it is thread-local
 * and a goroutine may change OS threads between two cgo calls. It restores
 * the calling thread's CPU affinity afterwards: rte_eal_init pins it to the
 * main lcore's CPUs, and every thread the Go runtime later clones from this
 * one would inherit that pin. */
static int ts_eal_init(int argc, char **argv, int *err)
{
	cpu_set_t saved;
	int have = pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0;
	int rc = rte_eal_init(argc, argv);
	*err = rc < 0 ? rte_errno : 0;
	if (have)
		pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	return rc;
}

/* rte_lcore_id reads a thread-local variable of librte_eal. */
static unsigned ts_lcore_id(void) { return rte_lcore_id(); }

static struct rte_mempool *ts_pool_create(const char *name, unsigned n, unsigned cache,
		uint16_t room, int socket, int *err)
{
	struct rte_mempool *mp = rte_pktmbuf_pool_create(name, n, cache, 0, room, socket);
	*err = mp == NULL ? rte_errno : 0;
	return mp;
}

/* Burst arrays travel as integers: they are C memory, and an integer
 * argument spares cgo's pointer check. */

static uint16_t ts_rx_burst(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n)
{
	return rte_eth_rx_burst(port, q, (struct rte_mbuf **)pkts, n);
}

/* ts_free_rx_burst fuses the release of ndone finished mbufs at done (the
 * previous burst's, in pkts itself, or a list of another array) with the
 * next receive into pkts and a TSC reading, stored in the slot past the
 * burst's n: one crossing per burst instead of three. */
static uint16_t ts_free_rx_burst(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n,
		uintptr_t done, unsigned ndone)
{
	struct rte_mbuf **p = (struct rte_mbuf **)pkts;
	if (ndone > 0)
		rte_pktmbuf_free_bulk((struct rte_mbuf **)done, ndone);
	uint16_t nb = rte_eth_rx_burst(port, q, p, n);
	*(uint64_t *)&p[n] = rte_rdtsc();
	return nb;
}

static uint16_t ts_tx_burst(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n)
{
	return rte_eth_tx_burst(port, q, (struct rte_mbuf **)pkts, n);
}

static void ts_free_bulk(uintptr_t pkts, unsigned n)
{
	rte_pktmbuf_free_bulk((struct rte_mbuf **)pkts, n);
}

static int ts_dynfield_lookup(const char *name, int *err)
{
	int rc = rte_mbuf_dynfield_lookup(name, NULL);
	*err = rc < 0 ? rte_errno : 0;
	return rc;
}

static int ts_dynflag_lookup(const char *name, int *err)
{
	int rc = rte_mbuf_dynflag_lookup(name, NULL);
	*err = rc < 0 ? rte_errno : 0;
	return rc;
}

/* ts_configure builds rte_eth_conf in C: it holds a key pointer, and a Go
 * struct holding a Go pointer may not be handed to C. */
static int ts_configure(uint16_t port, uint16_t nrx, uint16_t ntx, int rss,
		uint8_t *key, uint8_t keylen, uint64_t hf, uint64_t offloads, uint32_t mtu)
{
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	conf.rxmode.mq_mode = rss ? RTE_ETH_MQ_RX_RSS : RTE_ETH_MQ_RX_NONE;
	conf.rxmode.offloads = offloads;
	conf.rxmode.mtu = mtu;
	conf.rx_adv_conf.rss_conf.rss_key = key;
	conf.rx_adv_conf.rss_conf.rss_key_len = keylen;
	conf.rx_adv_conf.rss_conf.rss_hf = hf;
	return rte_eth_dev_configure(port, nrx, ntx, &conf);
}

static int ts_rss_hash_update(uint16_t port, uint8_t *key, uint8_t keylen, uint64_t hf)
{
	struct rte_eth_rss_conf c = { .rss_key = key, .rss_key_len = keylen, .rss_hf = hf };
	return rte_eth_dev_rss_hash_update(port, &c);
}

static int ts_rss_hash_get(uint16_t port, uint8_t *key, uint8_t keylen, uint64_t *hf)
{
	struct rte_eth_rss_conf c = { .rss_key = key, .rss_key_len = keylen };
	int rc = rte_eth_dev_rss_hash_conf_get(port, &c);
	*hf = c.rss_hf;
	return rc;
}

static uint16_t ts_next_port(uint16_t from)
{
	return (uint16_t)rte_eth_find_next_owned_by(from, RTE_ETH_DEV_NO_OWNER);
}

__attribute__((visibility("default")))
const struct ts_api ts_dpdk_api_v1 = {
	.version = TS_API_VERSION,
	.size = sizeof(struct ts_api),

	.eal_init = ts_eal_init,
	.lcore_id = ts_lcore_id,
	.pool_create = ts_pool_create,
	.rx_burst = ts_rx_burst,
	.free_rx_burst = ts_free_rx_burst,
	.tx_burst = ts_tx_burst,
	.free_bulk = ts_free_bulk,
	.dynfield_lookup = ts_dynfield_lookup,
	.dynflag_lookup = ts_dynflag_lookup,
	.configure = ts_configure,
	.rss_hash_update = ts_rss_hash_update,
	.rss_hash_get = ts_rss_hash_get,
	.next_port = ts_next_port,

	.eal_cleanup = rte_eal_cleanup,
	.socket_id = rte_socket_id,
	.lcore_to_socket_id = rte_lcore_to_socket_id,
	.get_main_lcore = rte_get_main_lcore,
	.lcore_is_enabled = rte_lcore_is_enabled,
	.eal_remote_launch = rte_eal_remote_launch,
	.eal_wait_lcore = rte_eal_wait_lcore,
	.eal_mp_wait_lcore = rte_eal_mp_wait_lcore,
	.get_tsc_hz = rte_get_tsc_hz,
	.mempool_free = rte_mempool_free,
	.mempool_in_use_count = rte_mempool_in_use_count,
	.mempool_avail_count = rte_mempool_avail_count,
	.eth_dev_count_avail = rte_eth_dev_count_avail,
	.eth_dev_get_port_by_name = rte_eth_dev_get_port_by_name,
	.eth_dev_get_name_by_port = rte_eth_dev_get_name_by_port,
	.eth_dev_info_get = rte_eth_dev_info_get,
	.eth_dev_socket_id = rte_eth_dev_socket_id,
	.eth_rx_queue_setup = rte_eth_rx_queue_setup,
	.eth_tx_queue_setup = rte_eth_tx_queue_setup,
	.eth_dev_start = rte_eth_dev_start,
	.eth_dev_stop = rte_eth_dev_stop,
	.eth_dev_close = rte_eth_dev_close,
	.eth_promiscuous_enable = rte_eth_promiscuous_enable,
	.eth_promiscuous_disable = rte_eth_promiscuous_disable,
	.eth_stats_get = rte_eth_stats_get,
	.eth_stats_reset = rte_eth_stats_reset,
	.eth_xstats_get_names = rte_eth_xstats_get_names,
	.eth_xstats_get = rte_eth_xstats_get,
	.eth_dev_rss_reta_update = rte_eth_dev_rss_reta_update,
	.eth_dev_rss_reta_query = rte_eth_dev_rss_reta_query,
};
