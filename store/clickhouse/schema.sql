-- store/clickhouse/schema.sql - infrapivot's data plane on a ClickHouse
-- cluster (docs/scale-out.md explains each table and key).  Written for
-- ClickHouse 18.16 (Debian 12); every statement is idempotent and run on
-- each node by scripts/cluster.sh; ${DB} is the database.
--
-- Writers insert raw observations into the *_in tables through their
-- Distributed tables (sharded by a hash of the row's main key).  An *_in
-- table is a Null table: it keeps nothing, and its materialized views turn
-- each inserted block into -State rows of the replicated tables, where
-- merges fold them (min first, max last, sum count, union of sensors).
-- Readers query the Distributed tables with -Merge and GROUP BY, so
-- answers are final whether or not background merges have run.
-- The column blk is the writer's batch token: it makes a retried batch's
-- blocks byte-identical (deduplicated by the replicated tables) and two
-- different batches different (never deduplicated).
-- The tables readers look keys up in have an index granule of 256 rows,
-- not 8,192: a point read decompresses a 32nd of the rows in each part
-- (a local read of one name 4-5 ms -> 1.4 ms at 2 M lines; a pivot's
-- depth-3 p99 at 20 M lines some 0.8 of 1,024's) for a primary index 32
-- times larger (docs/scale-out.md "Index granularity").

-- ---- resolutions ----------------------------------------------------
CREATE TABLE IF NOT EXISTS ${DB}.rr_in_local (
	blk UInt64,
	rname String,        -- name, labels reversed: com.example.www
	rrname String,       -- presentation: www.example.com
	rrtype UInt16,
	rdata String,        -- presentation (address text for A/AAAA)
	addr FixedString(16),-- A/AAAA: the address (IPv4 as ::ffff:a.b.c.d); zeros otherwise
	target String,       -- CNAME/NS/MX/PTR/SRV/DNAME: the target, labels reversed; '' otherwise
	bailiwick String,
	tf UInt32,
	tl UInt32,
	cnt UInt64,
	sensor String
) ENGINE = Null;

CREATE TABLE IF NOT EXISTS ${DB}.rr_in AS ${DB}.rr_in_local
	ENGINE = Distributed(infrapivot, ${DB}, rr_in_local, cityHash64(rname));

-- by name: name, type, rdata.  The reverse indexes below are the same
-- columns under another key.
CREATE TABLE IF NOT EXISTS ${DB}.rr_local (
	blk UInt64,
	rname String,
	rrname String,
	rrtype UInt16,
	rdata String,
	addr FixedString(16),
	target String,
	tf AggregateFunction(min, UInt32),
	tl AggregateFunction(max, UInt32),
	cnt AggregateFunction(sum, UInt64),
	sensors AggregateFunction(groupUniqArray, String),
	bailiwick AggregateFunction(max, String)
) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/${DB}/rr_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY (rname, rrtype, rdata)
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.rr_mv TO ${DB}.rr_local AS
	SELECT any(blk) AS blk, rname, any(rrname) AS rrname, rrtype, rdata, any(addr) AS addr,
		any(target) AS target, minState(tf) AS tf, maxState(tl) AS tl, sumState(cnt) AS cnt,
		groupUniqArrayState(sensor) AS sensors, maxState(bailiwick) AS bailiwick
	FROM ${DB}.rr_in_local GROUP BY rname, rrtype, rdata;

CREATE TABLE IF NOT EXISTS ${DB}.rr AS ${DB}.rr_local
	ENGINE = Distributed(infrapivot, ${DB}, rr_local);

-- by address (A/AAAA): an address or a CIDR is one key range
CREATE TABLE IF NOT EXISTS ${DB}.rr_addr_local AS ${DB}.rr_local
	ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/${DB}/rr_addr_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY (addr, rname, rrtype)
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.rr_addr_mv TO ${DB}.rr_addr_local AS
	SELECT any(blk) AS blk, addr, rname, any(rrname) AS rrname, rrtype, any(rdata) AS rdata,
		'' AS target, minState(tf) AS tf, maxState(tl) AS tl, sumState(cnt) AS cnt,
		groupUniqArrayState(sensor) AS sensors, maxState(bailiwick) AS bailiwick
	FROM ${DB}.rr_in_local WHERE rrtype IN (1, 28) GROUP BY addr, rname, rrtype;

CREATE TABLE IF NOT EXISTS ${DB}.rr_addr AS ${DB}.rr_addr_local
	ENGINE = Distributed(infrapivot, ${DB}, rr_addr_local);

-- by target (CNAME, NS, MX, PTR, SRV, DNAME): a target or a zone of targets
CREATE TABLE IF NOT EXISTS ${DB}.rr_target_local AS ${DB}.rr_local
	ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/${DB}/rr_target_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY (target, rname, rrtype, rdata)
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.rr_target_mv TO ${DB}.rr_target_local AS
	SELECT any(blk) AS blk, target, rname, any(rrname) AS rrname, rrtype, rdata,
		any(addr) AS addr, minState(tf) AS tf, maxState(tl) AS tl, sumState(cnt) AS cnt,
		groupUniqArrayState(sensor) AS sensors, maxState(bailiwick) AS bailiwick
	FROM ${DB}.rr_in_local WHERE target != '' GROUP BY target, rname, rrtype, rdata;

CREATE TABLE IF NOT EXISTS ${DB}.rr_target AS ${DB}.rr_target_local
	ENGINE = Distributed(infrapivot, ${DB}, rr_target_local);

-- prevalence: distinct names of an address, distinct addresses of a name
CREATE TABLE IF NOT EXISTS ${DB}.prev_ip_names_local (
	blk UInt64,
	addr FixedString(16),
	names AggregateFunction(uniqExact, String)
) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/${DB}/prev_ip_names_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY addr
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.prev_ip_names_mv TO ${DB}.prev_ip_names_local AS
	SELECT any(blk) AS blk, addr, uniqExactState(rname) AS names
	FROM ${DB}.rr_in_local WHERE rrtype IN (1, 28) GROUP BY addr;

CREATE TABLE IF NOT EXISTS ${DB}.prev_ip_names AS ${DB}.prev_ip_names_local
	ENGINE = Distributed(infrapivot, ${DB}, prev_ip_names_local);

CREATE TABLE IF NOT EXISTS ${DB}.prev_name_ips_local (
	blk UInt64,
	rname String,
	addrs AggregateFunction(uniqExact, FixedString(16))
) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/${DB}/prev_name_ips_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY rname
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.prev_name_ips_mv TO ${DB}.prev_name_ips_local AS
	SELECT any(blk) AS blk, rname, uniqExactState(addr) AS addrs
	FROM ${DB}.rr_in_local WHERE rrtype IN (1, 28) GROUP BY rname;

CREATE TABLE IF NOT EXISTS ${DB}.prev_name_ips AS ${DB}.prev_name_ips_local
	ENGINE = Distributed(infrapivot, ${DB}, prev_name_ips_local);

-- ---- certificate sightings --------------------------------------------
-- cert: the reference (SHA-1 when known, else SHA-256) as 1 kind byte and
-- 32 hash bytes (SHA-1 zero-padded), like the LMDB store's.
CREATE TABLE IF NOT EXISTS ${DB}.sight_in_local (
	blk UInt64,
	cert FixedString(33),
	ip FixedString(16),
	port UInt16,
	tf UInt32,
	tl UInt32,
	cnt UInt64,
	sensor String,
	sni String           -- name, labels reversed; '' when none
) ENGINE = Null;

CREATE TABLE IF NOT EXISTS ${DB}.sight_in AS ${DB}.sight_in_local
	ENGINE = Distributed(infrapivot, ${DB}, sight_in_local, cityHash64(cert));

CREATE TABLE IF NOT EXISTS ${DB}.sight_local (
	blk UInt64,
	cert FixedString(33),
	ip FixedString(16),
	port UInt16,
	tf AggregateFunction(min, UInt32),
	tl AggregateFunction(max, UInt32),
	cnt AggregateFunction(sum, UInt64),
	sensors AggregateFunction(groupUniqArray, String),
	snis AggregateFunction(groupUniqArray, String)
) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/${DB}/sight_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY (cert, ip, port)
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.sight_mv TO ${DB}.sight_local AS
	SELECT any(blk) AS blk, cert, ip, port,
		minState(tf) AS tf, maxState(tl) AS tl, sumState(cnt) AS cnt,
		groupUniqArrayState(sensor) AS sensors, groupUniqArrayState(sni) AS snis
	FROM ${DB}.sight_in_local GROUP BY cert, ip, port;

CREATE TABLE IF NOT EXISTS ${DB}.sight AS ${DB}.sight_local
	ENGINE = Distributed(infrapivot, ${DB}, sight_local);

-- by address: the certificates an address or a CIDR served
CREATE TABLE IF NOT EXISTS ${DB}.sight_addr_local AS ${DB}.sight_local
	ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/${DB}/sight_addr_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY (ip, port, cert)
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.sight_addr_mv TO ${DB}.sight_addr_local AS
	SELECT any(blk) AS blk, cert, ip, port,
		minState(tf) AS tf, maxState(tl) AS tl, sumState(cnt) AS cnt,
		groupUniqArrayState(sensor) AS sensors, groupUniqArrayState(sni) AS snis
	FROM ${DB}.sight_in_local GROUP BY ip, port, cert;

CREATE TABLE IF NOT EXISTS ${DB}.sight_addr AS ${DB}.sight_addr_local
	ENGINE = Distributed(infrapivot, ${DB}, sight_addr_local);

-- prevalence: distinct addresses of a certificate
CREATE TABLE IF NOT EXISTS ${DB}.prev_cert_ips_local (
	blk UInt64,
	cert FixedString(33),
	ips AggregateFunction(uniqExact, FixedString(16))
) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/${DB}/prev_cert_ips_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY cert
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.prev_cert_ips_mv TO ${DB}.prev_cert_ips_local AS
	SELECT any(blk) AS blk, cert, uniqExactState(ip) AS ips
	FROM ${DB}.sight_in_local GROUP BY cert;

CREATE TABLE IF NOT EXISTS ${DB}.prev_cert_ips AS ${DB}.prev_cert_ips_local
	ENGINE = Distributed(infrapivot, ${DB}, prev_cert_ips_local);

-- ---- certificate metadata ---------------------------------------------
-- One row per certificate; a later insert with more (has_meta, the DER)
-- replaces an earlier one with a lower ver.  Readers take argMax(.., ver).
CREATE TABLE IF NOT EXISTS ${DB}.cert_local (
	cert FixedString(33),
	ver UInt8,           -- 0 hashes only, 1 metadata, 2 metadata and DER
	sha1 String,
	sha256 String,
	subject String,
	subject_dn String,   -- store_dn_norm form
	issuer String,
	serial String,       -- as the source gives it (cert_attr has it normalised)
	not_before Int64,
	not_after Int64,
	san_dns Array(String),
	san_ip Array(String),
	spki String,         -- SHA-256 of the SubjectPublicKeyInfo, '' when unknown
	der String
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/${DB}/cert_local', '{replica}', ver)
	PARTITION BY tuple()
	ORDER BY cert
	SETTINGS index_granularity = 256;

CREATE TABLE IF NOT EXISTS ${DB}.cert AS ${DB}.cert_local
	ENGINE = Distributed(infrapivot, ${DB}, cert_local, cityHash64(cert));

-- SHA-256 -> SHA-1 (the LMDB store's alias table): the SHA-256 reference
-- of every cert row under a SHA-1 that carries its SHA-256, so that the
-- listings map a reference written before the SHA-1 was known to the
-- SHA-1 (docs/scale-out.md, "The SHA-256 -> SHA-1 join").  Filled by a
-- view on the rows a node's cert_local takes; readers take min(cert)
-- GROUP BY alias.  An existing database is filled once by cluster.sh
-- (docs/scale-out.md): a view sees only new rows.
CREATE TABLE IF NOT EXISTS ${DB}.cert_alias_local (
	alias FixedString(33), -- the SHA-256 reference (kind 2)
	cert FixedString(33)   -- the SHA-1 reference (kind 1)
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/${DB}/cert_alias_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY (alias, cert)
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.cert_alias_mv TO ${DB}.cert_alias_local AS
	SELECT toFixedString(concat(unhex('02'), sha256), 33) AS alias, min(cert) AS cert
	FROM ${DB}.cert_local WHERE length(sha256) = 32 AND length(sha1) = 20 GROUP BY alias;

CREATE TABLE IF NOT EXISTS ${DB}.cert_alias AS ${DB}.cert_alias_local
	ENGINE = Distributed(infrapivot, ${DB}, cert_alias_local, cityHash64(alias));

-- certificates by name (SAN/CN kind 1, SNI kind 2), by key, by subject, by serial
CREATE TABLE IF NOT EXISTS ${DB}.name_cert_local (
	rname String,
	cert FixedString(33),
	kind UInt8
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/${DB}/name_cert_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY (rname, cert, kind)
	SETTINGS index_granularity = 256;

CREATE TABLE IF NOT EXISTS ${DB}.name_cert AS ${DB}.name_cert_local
	ENGINE = Distributed(infrapivot, ${DB}, name_cert_local, cityHash64(rname));

CREATE TABLE IF NOT EXISTS ${DB}.cert_attr_local (
	attr UInt8,          -- 1 SPKI SHA-256 (hex), 2 subject DN, 3 serial|issuer DN
	value String,
	cert FixedString(33)
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/${DB}/cert_attr_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY (attr, value, cert)
	SETTINGS index_granularity = 256;

CREATE TABLE IF NOT EXISTS ${DB}.cert_attr AS ${DB}.cert_attr_local
	ENGINE = Distributed(infrapivot, ${DB}, cert_attr_local, cityHash64(value));

-- certificate -> its keys (SPKI SHA-256, lower-case hex): cert_attr's
-- attr 1 rows keyed by certificate, so that a pivot level's keys (a batch
-- of certificates) are a point read each, not a read of every key row
-- (cert_attr's key starts with attr and value).  cert's spki cannot answer
-- it: a replacing merge may drop the hashes-only row that carried it for a
-- later one with metadata.  Filled by a view on the rows a node's
-- cert_attr_local takes (a row lands on the shard of its value, so readers
-- ask every shard, as they do); readers take min(key) GROUP BY cert.  An
-- existing database is filled once by cluster.sh (docs/scale-out.md): a
-- view sees only new rows.
CREATE TABLE IF NOT EXISTS ${DB}.cert_key_local (
	cert FixedString(33),
	key String
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/${DB}/cert_key_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY (cert, key)
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.cert_key_mv TO ${DB}.cert_key_local AS
	SELECT cert, value AS key FROM ${DB}.cert_attr_local WHERE attr = 1;

CREATE TABLE IF NOT EXISTS ${DB}.cert_key AS ${DB}.cert_key_local
	ENGINE = Distributed(infrapivot, ${DB}, cert_key_local, cityHash64(cert));

-- ---- client sightings (the estate: docs/estate.md) -------------------
-- One row per (destination, client, sensor, source) and write: the pair's
-- whole merged state (CLIVAL, store/schema.h) at version ver.  The merge
-- of a pair is order-dependent (gaps between one batch's last contact and
-- the next one's first, out-of-order contacts, histograms that fold past
-- their cap), so no aggregate function reproduces it: the writer reads
-- the pair's newest state, folds the batch's sightings in with the LMDB
-- store's code and inserts the result at ver + 1.  Readers take
-- argMax(state, ver) with GROUP BY (final before the replacing merges,
-- which keep the newest row).  pk is a hash of the key the writer selects
-- its batch's pairs by; dest is a domain with its labels reversed or an
-- address as 32 hex digits (both sort as the LMDB key does).
-- Retention (`ingest --client-days`, store/ch_client_cut.c): the last
-- cutoff is a row of dtype 0 (no destination) whose ver is the cutoff with
-- the sign bit flipped; the high 32 bits of a pair's ver are the cutoff in
-- force when the row was written.  Readers leave out a pair last seen
-- before the cutoff and written before it; `ALTER TABLE client_local ON
-- CLUSTER infrapivot DELETE WHERE ...` then deletes its rows (no TTL in
-- 18.16).
CREATE TABLE IF NOT EXISTS ${DB}.client_local (
	blk UInt64,
	pk UInt64,
	dtype UInt8,         -- 1 domain, 2 IP
	dest String,
	client FixedString(16),
	sensor String,
	src UInt8,           -- 1 dns, 2 sni, 3 conn, 4 tls, 5 flow
	ver UInt64,
	first_seen UInt32,
	last_seen UInt32,
	cnt UInt64,
	state String
) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/${DB}/client_local', '{replica}', ver)
	PARTITION BY tuple()
	ORDER BY (dtype, dest, client, sensor, src)
	SETTINGS index_granularity = 256;

CREATE TABLE IF NOT EXISTS ${DB}.client AS ${DB}.client_local
	ENGINE = Distributed(infrapivot, ${DB}, client_local, cityHash64(dest));

-- ---- server fingerprints (JARM, JA3S) seen on ip:port ------------------
-- merged as certificate sightings are (min first, max last, sum count);
-- by fingerprint and by address (store/fp.c's two indexes)
CREATE TABLE IF NOT EXISTS ${DB}.fp_in_local (
	blk UInt64,
	fptype UInt8,        -- 1 JARM, 2 JA3S
	hash String,         -- lower-case hex (store_fp_norm)
	ip FixedString(16),
	port UInt16,
	tf UInt32,
	tl UInt32,
	cnt UInt64
) ENGINE = Null;

CREATE TABLE IF NOT EXISTS ${DB}.fp_in AS ${DB}.fp_in_local
	ENGINE = Distributed(infrapivot, ${DB}, fp_in_local, cityHash64(hash));

CREATE TABLE IF NOT EXISTS ${DB}.fp_local (
	blk UInt64,
	fptype UInt8,
	hash String,
	ip FixedString(16),
	port UInt16,
	tf AggregateFunction(min, UInt32),
	tl AggregateFunction(max, UInt32),
	cnt AggregateFunction(sum, UInt64)
) ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/${DB}/fp_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY (fptype, hash, ip, port)
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.fp_mv TO ${DB}.fp_local AS
	SELECT any(blk) AS blk, fptype, hash, ip, port,
		minState(tf) AS tf, maxState(tl) AS tl, sumState(cnt) AS cnt
	FROM ${DB}.fp_in_local GROUP BY fptype, hash, ip, port;

CREATE TABLE IF NOT EXISTS ${DB}.fp AS ${DB}.fp_local
	ENGINE = Distributed(infrapivot, ${DB}, fp_local);

CREATE TABLE IF NOT EXISTS ${DB}.fp_addr_local AS ${DB}.fp_local
	ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/${DB}/fp_addr_local', '{replica}')
	PARTITION BY tuple()
	ORDER BY (ip, fptype, hash, port)
	SETTINGS index_granularity = 256;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.fp_addr_mv TO ${DB}.fp_addr_local AS
	SELECT any(blk) AS blk, fptype, hash, ip, port,
		minState(tf) AS tf, maxState(tl) AS tl, sumState(cnt) AS cnt
	FROM ${DB}.fp_in_local GROUP BY ip, fptype, hash, port;

CREATE TABLE IF NOT EXISTS ${DB}.fp_addr AS ${DB}.fp_addr_local
	ENGINE = Distributed(infrapivot, ${DB}, fp_addr_local);

-- ---- the watch sweep's log (docs/scale-out.md, "The watch sweep") ------
-- Every resolution that can link a watched indicator (A, AAAA, CNAME) as
-- it was inserted, stamped with `ins`, the time the shard's replica took
-- the block (now() in the view, on the replica's clock).  The sweep reads
-- the rows newer than its checkpoint (less an overlap) that touch watched
-- indicators.  A plain ReplicatedMergeTree: rows are not merged, so each
-- keeps its own `ins`.  `ins` is computed here, not by the writer, so a
-- block replayed from an intent days later is new to the sweep; it is not
-- in the counting tables' blocks, whose deduplication it would defeat (a
-- retry in another second would be another block).  A retry that lands
-- here twice gives two rows, which the sweep folds (same blk and row).
-- One partition a day: an old day is dropped with ALTER TABLE
-- sweep_rr_local DROP PARTITION YYYYMMDD on each shard (no TTL in 18.16).
CREATE TABLE IF NOT EXISTS ${DB}.sweep_rr_local (
	ins DateTime,
	blk UInt64,
	rrname String,       -- presentation, as written to rr_in
	rrtype UInt16,
	rdata String,
	addr FixedString(16),
	tf UInt32,
	tl UInt32,
	cnt UInt64,
	sensor String
) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${DB}/sweep_rr_local', '{replica}')
	PARTITION BY toYYYYMMDD(ins)
	ORDER BY (ins, rrname);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.sweep_rr_mv TO ${DB}.sweep_rr_local AS
	SELECT now() AS ins, blk, rrname, rrtype, rdata, addr, tf, tl, cnt, sensor
	FROM ${DB}.rr_in_local WHERE rrtype IN (1, 5, 28);

CREATE TABLE IF NOT EXISTS ${DB}.sweep_rr AS ${DB}.sweep_rr_local
	ENGINE = Distributed(infrapivot, ${DB}, sweep_rr_local);

-- The certificate observations, the same way (docs/scale-out.md, "The
-- watch sweep"): one row per STORE_OBS_CERT observation as the writer had
-- it, with what the standing pivot's hook reads of it (store/watch_auto.c:
-- its hashes, key, SAN names, and the sighting with its SNI), inserted
-- into sweep_cert_in (a Null table, sharded as sight_in) by the writer
-- with the batch's other certificate rows, and stamped `ins` by the view on
-- the replica that takes it.  seq: the observation's place among its
-- batch's certificates (the order LMDB's hook sees them in).  names: the
-- SNI and the SAN names normalised, for the sweep's query; san: the SAN
-- names as the observation had them (NUL-separated), for the hook.
-- Retention as sweep_rr's: one partition a day (the sweep drops days past
-- its horizon: watchlist sweep --keep-days).
CREATE TABLE IF NOT EXISTS ${DB}.sweep_cert_in_local (
	ins DateTime DEFAULT now(), -- not sent by the writer; the view stamps it
	blk UInt64,
	seq UInt32,
	cert FixedString(33), -- the reference, as sight_in's
	sha256 String,       -- 32 bytes; '' when unknown
	flags UInt8,         -- 1 a sighting, 2 with metadata, 4 the key known
	ip FixedString(16),
	port UInt16,
	sni String,          -- presentation; '' when none
	spki FixedString(32),
	san String,
	names Array(String),
	tf UInt32,
	tl UInt32,
	cnt UInt64,
	sensor String
) ENGINE = Null;

CREATE TABLE IF NOT EXISTS ${DB}.sweep_cert_in AS ${DB}.sweep_cert_in_local
	ENGINE = Distributed(infrapivot, ${DB}, sweep_cert_in_local, cityHash64(cert));

CREATE TABLE IF NOT EXISTS ${DB}.sweep_cert_local AS ${DB}.sweep_cert_in_local
	ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${DB}/sweep_cert_local', '{replica}')
	PARTITION BY toYYYYMMDD(ins)
	ORDER BY (ins, cert);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${DB}.sweep_cert_mv TO ${DB}.sweep_cert_local AS
	SELECT now() AS ins, blk, seq, cert, sha256, flags, ip, port, sni, spki, san, names,
		tf, tl, cnt, sensor
	FROM ${DB}.sweep_cert_in_local;

CREATE TABLE IF NOT EXISTS ${DB}.sweep_cert AS ${DB}.sweep_cert_local
	ENGINE = Distributed(infrapivot, ${DB}, sweep_cert_local);
