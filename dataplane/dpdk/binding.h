/*
 * The Go side's view of libtsdpdk.so (shim/api.h): ts_dpdk is the table
 * load.go fills from the library, and each ts_* below calls through it, so
 * cgo has a named C function to call and this package's C code references
 * no DPDK symbol (the binary links no DPDK library). Nothing here may be
 * called before loadShim succeeded (EALInit does it first).
 */
#ifndef TS_BINDING_H
#define TS_BINDING_H

#include "shim/api.h"

extern struct ts_api ts_dpdk;

static inline int ts_eal_init(int argc, char **argv, int *err) { return ts_dpdk.eal_init(argc, argv, err); }
static inline unsigned ts_lcore_id(void) { return ts_dpdk.lcore_id(); }
static inline struct rte_mempool *ts_pool_create(const char *name, unsigned n, unsigned cache,
		uint16_t room, int socket, int *err) { return ts_dpdk.pool_create(name, n, cache, room, socket, err); }
static inline uint16_t ts_rx_burst(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n) {
	return ts_dpdk.rx_burst(port, q, pkts, n);
}
static inline uint16_t ts_free_rx_burst(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n,
		uintptr_t done, unsigned ndone) { return ts_dpdk.free_rx_burst(port, q, pkts, n, done, ndone); }
static inline uint16_t ts_tx_burst(uint16_t port, uint16_t q, uintptr_t pkts, uint16_t n) {
	return ts_dpdk.tx_burst(port, q, pkts, n);
}
static inline void ts_free_bulk(uintptr_t pkts, unsigned n) { ts_dpdk.free_bulk(pkts, n); }
static inline int ts_dynfield_lookup(const char *name, int *err) { return ts_dpdk.dynfield_lookup(name, err); }
static inline int ts_dynflag_lookup(const char *name, int *err) { return ts_dpdk.dynflag_lookup(name, err); }
static inline int ts_configure(uint16_t port, uint16_t nrx, uint16_t ntx, int rss, uint8_t *key,
		uint8_t keylen, uint64_t hf, uint64_t offloads, uint32_t mtu) {
	return ts_dpdk.configure(port, nrx, ntx, rss, key, keylen, hf, offloads, mtu);
}
static inline int ts_rss_hash_update(uint16_t port, uint8_t *key, uint8_t keylen, uint64_t hf) {
	return ts_dpdk.rss_hash_update(port, key, keylen, hf);
}
static inline int ts_rss_hash_get(uint16_t port, uint8_t *key, uint8_t keylen, uint64_t *hf) {
	return ts_dpdk.rss_hash_get(port, key, keylen, hf);
}
static inline uint16_t ts_next_port(uint16_t from) { return ts_dpdk.next_port(from); }

static inline int ts_eal_cleanup(void) { return ts_dpdk.eal_cleanup(); }
static inline unsigned ts_socket_id(void) { return ts_dpdk.socket_id(); }
static inline unsigned ts_lcore_to_socket_id(unsigned lcore) { return ts_dpdk.lcore_to_socket_id(lcore); }
static inline unsigned ts_get_main_lcore(void) { return ts_dpdk.get_main_lcore(); }
static inline int ts_lcore_is_enabled(unsigned lcore) { return ts_dpdk.lcore_is_enabled(lcore); }
static inline int ts_eal_remote_launch(lcore_function_t *f, void *arg, unsigned lcore) {
	return ts_dpdk.eal_remote_launch(f, arg, lcore);
}
static inline int ts_eal_wait_lcore(unsigned lcore) { return ts_dpdk.eal_wait_lcore(lcore); }
static inline void ts_eal_mp_wait_lcore(void) { ts_dpdk.eal_mp_wait_lcore(); }
static inline uint64_t ts_get_tsc_hz(void) { return ts_dpdk.get_tsc_hz(); }
static inline void ts_mempool_free(struct rte_mempool *mp) { ts_dpdk.mempool_free(mp); }
static inline unsigned ts_mempool_in_use_count(const struct rte_mempool *mp) { return ts_dpdk.mempool_in_use_count(mp); }
static inline unsigned ts_mempool_avail_count(const struct rte_mempool *mp) { return ts_dpdk.mempool_avail_count(mp); }
static inline uint16_t ts_eth_dev_count_avail(void) { return ts_dpdk.eth_dev_count_avail(); }
static inline int ts_eth_dev_get_port_by_name(const char *name, uint16_t *id) {
	return ts_dpdk.eth_dev_get_port_by_name(name, id);
}
static inline int ts_eth_dev_get_name_by_port(uint16_t port, char *name) {
	return ts_dpdk.eth_dev_get_name_by_port(port, name);
}
static inline int ts_eth_dev_info_get(uint16_t port, struct rte_eth_dev_info *info) {
	return ts_dpdk.eth_dev_info_get(port, info);
}
static inline int ts_eth_dev_socket_id(uint16_t port) { return ts_dpdk.eth_dev_socket_id(port); }
static inline int ts_eth_rx_queue_setup(uint16_t port, uint16_t q, uint16_t nb, unsigned socket,
		const struct rte_eth_rxconf *conf, struct rte_mempool *mp) {
	return ts_dpdk.eth_rx_queue_setup(port, q, nb, socket, conf, mp);
}
static inline int ts_eth_tx_queue_setup(uint16_t port, uint16_t q, uint16_t nb, unsigned socket,
		const struct rte_eth_txconf *conf) {
	return ts_dpdk.eth_tx_queue_setup(port, q, nb, socket, conf);
}
static inline int ts_eth_dev_start(uint16_t port) { return ts_dpdk.eth_dev_start(port); }
static inline int ts_eth_dev_stop(uint16_t port) { return ts_dpdk.eth_dev_stop(port); }
static inline int ts_eth_dev_close(uint16_t port) { return ts_dpdk.eth_dev_close(port); }
static inline int ts_eth_promiscuous_enable(uint16_t port) { return ts_dpdk.eth_promiscuous_enable(port); }
static inline int ts_eth_promiscuous_disable(uint16_t port) { return ts_dpdk.eth_promiscuous_disable(port); }
static inline int ts_eth_stats_get(uint16_t port, struct rte_eth_stats *s) { return ts_dpdk.eth_stats_get(port, s); }
static inline int ts_eth_stats_reset(uint16_t port) { return ts_dpdk.eth_stats_reset(port); }
static inline int ts_eth_xstats_get_names(uint16_t port, struct rte_eth_xstat_name *names, unsigned n) {
	return ts_dpdk.eth_xstats_get_names(port, names, n);
}
static inline int ts_eth_xstats_get(uint16_t port, struct rte_eth_xstat *xs, unsigned n) {
	return ts_dpdk.eth_xstats_get(port, xs, n);
}
static inline int ts_eth_dev_rss_reta_update(uint16_t port, struct rte_eth_rss_reta_entry64 *c, uint16_t size) {
	return ts_dpdk.eth_dev_rss_reta_update(port, c, size);
}
static inline int ts_eth_dev_rss_reta_query(uint16_t port, struct rte_eth_rss_reta_entry64 *c, uint16_t size) {
	return ts_dpdk.eth_dev_rss_reta_query(port, c, size);
}

#endif
