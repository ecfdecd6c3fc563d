/*
 * The table of entry points that libtsdpdk.so (shim.c, linked with DPDK)
 * hands to package dpdk, which dlopen()s it only when the EAL starts. The
 * tunnelscope binary itself then links no DPDK library, so the commands
 * that never touch a NIC (classify, extract, train, ...) do not pay for
 * loading DPDK: about 4.5 ms per process on the development VM, mostly
 * page faults and CPUID traps in the libraries' constructors.
 *
 * Both sides compile this header against the same DPDK headers; version and
 * size guard against a library built from another revision of it.
 */
#ifndef TS_DPDK_API_H
#define TS_DPDK_API_H

#include <stdint.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define TS_API_VERSION 1
#define TS_API_SYMBOL "ts_dpdk_api_v1"

struct ts_api {
	uint32_t version; /* TS_API_VERSION */
	uint32_t size;    /* sizeof(struct ts_api) */

	/* Helpers of shim.c: each reads rte_errno (thread-local) in the failing
	 * call itself, or fuses several DPDK calls into one crossing. */
	int (*eal_init)(int argc, char **argv, int *err);
	unsigned (*lcore_id)(void);
	struct rte_mempool *(*pool_create)(const char *name, unsigned n, unsigned cache,
			uint16_t room, int socket, int *err);
	uint16_t (*rx_burst)(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n);
	uint16_t (*free_rx_burst)(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n,
			uintptr_t done, unsigned ndone);
	uint16_t (*tx_burst)(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n);
	void (*free_bulk)(uintptr_t pkts, unsigned n);
	int (*dynfield_lookup)(const char *name, int *err);
	int (*dynflag_lookup)(const char *name, int *err);
	int (*configure)(uint16_t port, uint16_t nrx, uint16_t ntx, int rss,
			uint8_t *key, uint8_t keylen, uint64_t hf, uint64_t offloads, uint32_t mtu);
	int (*rss_hash_update)(uint16_t port, uint8_t *key, uint8_t keylen, uint64_t hf);
	int (*rss_hash_get)(uint16_t port, uint8_t *key, uint8_t keylen, uint64_t *hf);
	uint16_t (*next_port)(uint16_t from);

	/* DPDK's own functions, called as they are. */
	__typeof__(rte_eal_cleanup) *eal_cleanup;
	__typeof__(rte_socket_id) *socket_id;
	__typeof__(rte_lcore_to_socket_id) *lcore_to_socket_id;
	__typeof__(rte_get_main_lcore) *get_main_lcore;
	__typeof__(rte_lcore_is_enabled) *lcore_is_enabled;
	__typeof__(rte_eal_remote_launch) *eal_remote_launch;
	__typeof__(rte_eal_wait_lcore) *eal_wait_lcore;
	__typeof__(rte_eal_mp_wait_lcore) *eal_mp_wait_lcore;
	__typeof__(rte_get_tsc_hz) *get_tsc_hz;
	__typeof__(rte_mempool_free) *mempool_free;
	__typeof__(rte_mempool_in_use_count) *mempool_in_use_count;
	__typeof__(rte_mempool_avail_count) *mempool_avail_count;
	__typeof__(rte_eth_dev_count_avail) *eth_dev_count_avail;
	__typeof__(rte_eth_dev_get_port_by_name) *eth_dev_get_port_by_name;
	__typeof__(rte_eth_dev_get_name_by_port) *eth_dev_get_name_by_port;
	__typeof__(rte_eth_dev_info_get) *eth_dev_info_get;
	__typeof__(rte_eth_dev_socket_id) *eth_dev_socket_id;
	__typeof__(rte_eth_rx_queue_setup) *eth_rx_queue_setup;
	__typeof__(rte_eth_tx_queue_setup) *eth_tx_queue_setup;
	__typeof__(rte_eth_dev_start) *eth_dev_start;
	__typeof__(rte_eth_dev_stop) *eth_dev_stop;
	__typeof__(rte_eth_dev_close) *eth_dev_close;
	__typeof__(rte_eth_promiscuous_enable) *eth_promiscuous_enable;
	__typeof__(rte_eth_promiscuous_disable) *eth_promiscuous_disable;
	__typeof__(rte_eth_stats_get) *eth_stats_get;
	__typeof__(rte_eth_stats_reset) *eth_stats_reset;
	__typeof__(rte_eth_xstats_get_names) *eth_xstats_get_names;
	__typeof__(rte_eth_xstats_get) *eth_xstats_get;
	__typeof__(rte_eth_dev_rss_reta_update) *eth_dev_rss_reta_update;
	__typeof__(rte_eth_dev_rss_reta_query) *eth_dev_rss_reta_query;
};

#endif
