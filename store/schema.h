/* clang-format off */
/*
 * schema.h - the on-disk layout of an infrapivot database (schema 2).
 *
 * One LMDB environment, named sub-databases.  Integers inside keys are
 * big-endian so they sort; integers inside values are little-endian.
 *
 *   NAMEKEY(n)  labels of n reversed, each followed by 0x00, then one more
 *               0x00: "www.example.com" -> "com\0example\0www\0\0".  A zone
 *               and everything under it share the prefix "com\0example\0",
 *               so "*.example.com" is one prefix scan (keys whose next
 *               byte is not the terminator).
 *   FWDKEY(n)   labels of n in their own order, each followed by 0x00,
 *               then one more 0x00: "update-check.duckdns.org" ->
 *               "update-check\0duckdns\0org\0\0", so "update-check.*"
 *               is one prefix scan ("update-check\0", next byte not 0).
 *   CERTREF     33 bytes: kind (1 = SHA-1, 2 = SHA-256 only) then the hash,
 *               SHA-1 zero-padded to 32 bytes.
 *   IP          16 bytes, IPv4 as ::ffff:a.b.c.d.
 *
 * | db       | flags           | key                           | value                      |
 * |----------|-----------------|-------------------------------|----------------------------|
 * | meta     |                 | "schema_version"              | u32                        |
 * |          |                 | 'S' sensor-name               | u16 sensor id              |
 * |          |                 | 'I' u16 id                    | sensor name                |
 * |          |                 | "sensor_next"                 | u16                        |
 * |          |                 | 'F' path / 'K' feed (callers) | opaque (follow, checkpoint)|
 * | rr       |                 | NAMEKEY u16 rrtype rdata      | RRVAL                      |
 * | addr     | DUPSORT         | IP                            | NAMEKEY (A/AAAA owner)     |
 * | target   | DUPSORT         | NAMEKEY(target)               | u16 rrtype NAMEKEY(owner)  |
 * | sight    |                 | CERTREF IP u16 port           | SIGHTVAL                   |
 * | ipcert   | DUPSORT DUPFIXED| IP                            | CERTREF u16 port           |
 * | cert     |                 | CERTREF                       | CERTVAL                    |
 * | namecert | DUPSORT DUPFIXED| NAMEKEY                       | CERTREF u8 kind (1 SAN/CN, 2 SNI) |
 * | alias    |                 | SHA-256 (32)                  | SHA-1 (20)                 |
 * | prev     |                 | 'N' NAMEKEY / 'C' CERTREF     | u32 distinct IPs           |
 * | wlist    |                 | 'N' list name                 | WLVAL                      |
 * |          |                 | 'I' be32 list id              | list name                  |
 * |          |                 | 'D' list name                 | u64 last version (deleted) |
 * |          |                 | "#next"                       | u32 next list id           |
 * | wentry   |                 | be32 id, u8 type, INDKEY      | ENTVAL                     |
 * | wver     | DUPSORT         | be32 id, be64 version         | u8 type, INDKEY            |
 * | wtime    |                 | be32 id, 'E'|'T', be64 t, u8 type, INDKEY | (empty)        |
 * | wind     | DUPSORT DUPFIXED| u8 type, INDKEY               | be32 id (live entries)     |
 * | fwd      | DUPSORT DUPFIXED| FWDKEY                        | u8 'O' owner / 'T' target  |
 *
 * rdata in an rr key: A the 4 IPv4 octets, AAAA the 16-byte IP (schema 1
 * kept 16 bytes for A too); other types the normalised
 * presentation text (MX "10 mx.example.com", names without trailing dot).
 *
 * RRVAL:    u32 time_first, varint (time_last - time_first), varint count,
 *           u8 flags (bits 0-4 sensors kept, 0x20 bailiwick follows, 0x40
 *           sensors_more follows), [varint sensors_more], varint sensor ids,
 *           [u8 len, bailiwick NAMEKEY].  Varints are LEB128.
 * SIGHTVAL: u32 time_first, u32 time_last, u64 count, u8 nsensors,
 *           u8 nsni, u16 sensors_more, u16 sensor ids[nsensors],
 *           { u8 len, sni name }[nsni].
 * CERTVAL:  u8 flags (1 sha1, 2 sha256, 4 meta), sha1[20], sha256[32],
 *           i64 not_before, i64 not_after, then u16-length-prefixed
 *           subject, issuer, serial, san_dns (NUL-separated),
 *           san_ip (NUL-separated), and u32-length-prefixed DER.
 *
 * Watchlists (store/watch.h).  INDKEY by type: domain (1) NAMEKEY, ip (2)
 * the 16-byte IP, cert (3) the 20-byte SHA-1 or 32-byte SHA-256.  wver
 * holds each entry once, under the version of its last change, so a delta
 * since version N is one range scan.  wtime 'E' keys index live entries by
 * expiry (readers count the due ones to number expiries; writers turn them
 * into tombstones), 'T' keys index tombstones by removal time for pruning.
 * wind is the reverse index the standing-pivot hook looks observations up
 * in.  A deleted list leaves 'D' name -> the last version it could have
 * shown, so a list created again under that name starts above it.
 *
 * WLVAL:  u8 format (1), u32 id, i64 created, i64 updated, u64 version,
 *         u64 delta_floor, u32 ttl_days, u32 tombstone_days, u32 auto_edges,
 *         u32 auto_ttl_days, u32 auto_max_gen, u64 max_ip_domains,
 *         u64 max_cert_ips, u64 max_domain_ips, u64 max_san, u64 live
 *         (incl. expiries not yet recorded), u64 tombstones, u64 auto_added,
 *         u64 noise_skipped, i64 last_skip_time, str16 name,
 *         str16 description, str16 last_skip.
 * ENTVAL: u8 format (1), u8 state (1 live, 2 removed, 3 expired), u8 gen,
 *         u8 flags (1 = latest provenance follows), i64 added, i64 updated,
 *         i64 expires (0 never), i64 removed, u64 version, str16 source,
 *         str16 reason, PROV first, [PROV latest].
 * PROV:   i64 at, str16 note, u8 nhops, then per hop u8 edge, u8 from_type,
 *         str8 from, u8 to_type, str8 to, i64 first_seen, i64 last_seen,
 *         u16 port.   (strN: an N-bit little-endian length, then the bytes)
 *
 * fwd (store/fwd.c) holds every owner name and every rdata target name once
 * per kind, written with the record that made it new: names written before
 * the table existed are not in it.  A database without it still opens
 * read-only (right-hand wildcards then find nothing).
 *
 * Client sightings (store/client.h, docs/estate.md):
 *
 *   client   key  u8 dtype (1 domain, 2 IP), NAMEKEY or IP, IP client,
 *                 be16 sensor id, u8 source (1 dns 2 sni 3 conn 4 tls 5 flow)
 *            val  CLIVAL
 *   meta     'I' scope NUL key -> be64 time, record text: an idempotent
 *            push (store/idem.c; kept STORE_IDEM_TTL seconds)
 *   meta     'O' sensor-name -> organisation name; "internal_cidrs" ->
 *            comma-separated CIDRs; "client_newest" -> i64 newest sighting
 *
 * CLIVAL: u8 format (1), u32 first_seen, u32 last_seen, u24 hours-of-day
 *         bitmap, varint count, varint repeats, varint out_of_order, then
 *         three HIST (gaps, bytes out, bytes in): u8 n, n x (varint bucket
 *         delta, varint count).  Gap bucket round(32 log2 s), at most 32;
 *         byte bucket round(4 log2(b + 1)), at most 12.
 *
 * Keys, subjects, issuer+serial and server fingerprints (store/keys.c,
 * store/fp.c; issue 15):
 *
 * | db         | flags            | key                         | value              |
 * |------------|------------------|-----------------------------|--------------------|
 * | certkey    |                  | CERTREF                     | SHA-256 of the SPKI (32) |
 * | keycert    | DUPSORT DUPFIXED | SHA-256 of the SPKI (32)    | CERTREF            |
 * | subjcert   | DUPSORT DUPFIXED | DN (store_dn_norm text)     | CERTREF            |
 * | serialcert | DUPSORT DUPFIXED | SERIAL 0x00 DN(issuer)      | CERTREF            |
 * | fpsight    |                  | FPKEY IP u16 port           | FPVAL              |
 * | ipfp       | DUPSORT DUPFIXED | IP                          | FPKEY u16 port     |
 * | prev       |                  | 'F' FPKEY                   | u32 distinct IPs   |
 *
 * SPKI: the certificate's SubjectPublicKeyInfo as DER (crt.sh's "SPKI
 * SHA-256"), computed at ingest wherever the certificate itself is seen.
 * DN: store_dn_norm (store.h): components split at ',' '+' or '/', attribute
 * names upper-cased (E/EMAIL -> EMAILADDRESS, S -> ST), values unescaped,
 * trimmed, white space runs made one, lower-cased, components sorted,
 * joined "ATTR=value,..." (',' '+' '=' '\' in values escaped): OpenSSL's
 * "C=US, O=x, CN=y", RFC 4514 "CN=y,O=x,C=US" and "/C=US/O=x/CN=y" are one
 * key.  A DN over 479 bytes normalised is not indexed.  SERIAL:
 * store_serial_norm, upper-case hex without leading zeros; the issuer part
 * is cut to fit the 511-byte key (a lookup cuts the same way).  Metadata
 * moved by a SHA-256 -> SHA-1 join moves its index items too.
 * FPKEY: 64 bytes, u8 type (1 JARM, 2 JA3S) then the lower-case hex
 * fingerprint zero-padded.  FPVAL: u32 first seen, u32 last seen, u64
 * count (little-endian).  The 'F' prevalence counter is bumped when a
 * fingerprint is first seen on an IP (any port).  All six tables are
 * optional when a database written before them is opened read-only.
 *
 * Prevalence: distinct names per IP is the duplicate count of `addr`
 * (mdb_cursor_count, kept by LMDB on insert); distinct IPs per name and
 * per certificate are the `prev` counters, bumped when a new pair lands.
 * A name's counter exists only from its second address on: without it
 * the name's A/AAAA records (zero or one) are counted directly.
 */
/* clang-format on */
#ifndef INFRAPIVOT_STORE_SCHEMA_H
#define INFRAPIVOT_STORE_SCHEMA_H

#define SCHEMA_NAMEKEY_MAX 256 /* 253-char name -> 255 bytes + terminator */
#define SCHEMA_CERTREF_LEN 33
#define SCHEMA_KEY_MAX 511 /* LMDB's default maximum key size */

#endif
