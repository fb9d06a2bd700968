-- openGauss EMULATOR - the SQL surface of openGauss, faked over PostgreSQL 15. NOT openGauss.
-- Loaded by the emulated gs_initdb into the "postgres" database (postgres --single -j). Each
-- object cites the section of shared/opengauss.md it follows. Objects live in schema og_emulator,
-- which every role's search_path lists before pg_catalog, so the openGauss names shadow the
-- PostgreSQL 15 ones and the PostgreSQL-only names fail as they would on openGauss.

CREATE SCHEMA og_emulator;

ALTER ROLE ALL SET search_path = og_emulator, pg_catalog, "$user", public;

COMMENT ON SCHEMA og_emulator IS 'openGauss EMULATOR: fakes of openGauss functions (shared/opengauss.md)';

-- §2.8: "The term is also carried in WAL record headers. Replay raises the standby's term."
-- The emulator writes a row here on every promotion; the row replicates through WAL.
CREATE TABLE og_emulator.term_log (term bigint NOT NULL, written_at timestamptz NOT NULL DEFAULT now());

-- Reads a "name = 'value'" line of the emulator's own files in the data directory.
CREATE FUNCTION og_emulator.file_value(file text, key text, sep text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
	t text;
	l text;
	v text;
BEGIN
	t := pg_catalog.pg_read_file(file, 0, 1048576, true);
	IF t IS NULL THEN
		RETURN NULL;
	END IF;
	FOREACH l IN ARRAY pg_catalog.string_to_array(t, E'\n') LOOP
		IF pg_catalog.starts_with(pg_catalog.ltrim(l), key || sep)
		   OR pg_catalog.starts_with(pg_catalog.ltrim(l), key || ' ' || sep) THEN
			v := pg_catalog.btrim(pg_catalog.substr(l, pg_catalog.strpos(l, sep) + 1));
			v := pg_catalog.btrim(v, '''');
		END IF;
	END LOOP;
	RETURN v;
END
$$;

-- openGauss-only parameters (replconninfoN, most_available_sync, ...), kept in og_emulator.conf.
CREATE FUNCTION og_emulator.setting(name text) RETURNS text
LANGUAGE sql SECURITY DEFINER AS $$ SELECT og_emulator.file_value('og_emulator.conf', name, '=') $$;

-- The -M mode the instance runs in and the emulated detail_information (written by gaussdb).
CREATE FUNCTION og_emulator.state(key text) RETURNS text
LANGUAGE sql SECURITY DEFINER AS $$ SELECT og_emulator.file_value('og_emulator.state', key, '=') $$;

-- §2.8: two terms, one from term_file (binary uint32) and one from WAL; both start at 1; the
-- server keeps the larger.
CREATE FUNCTION og_emulator.term() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
	f bytea;
	file_term bigint := 1;
	wal_term bigint;
BEGIN
	f := pg_catalog.pg_read_binary_file('term_file', 0, 4, true);
	IF f IS NOT NULL AND pg_catalog.length(f) = 4 THEN
		file_term := pg_catalog.get_byte(f, 0) + pg_catalog.get_byte(f, 1) * 256
			+ pg_catalog.get_byte(f, 2) * 65536 + pg_catalog.get_byte(f, 3)::bigint * 16777216;
	END IF;
	SELECT max(term) INTO wal_term FROM og_emulator.term_log;
	RETURN greatest(file_term, coalesce(wal_term, 1));
END
$$;

-- §2.7 SQL 1: one row (local_role, static_connections, db_state, detail_information).
CREATE FUNCTION og_emulator.pg_stat_get_stream_replications(OUT local_role text,
	OUT static_connections integer, OUT db_state text, OUT detail_information text)
RETURNS record LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
	mode text := coalesce(og_emulator.state('mode'), 'normal');
	detail text := coalesce(og_emulator.state('detail'), '');
	in_recovery boolean := pg_catalog.pg_is_in_recovery();
	receiver_status text;
	i integer;
BEGIN
	static_connections := 0;
	FOR i IN 1..8 LOOP
		IF coalesce(og_emulator.setting('replconninfo' || i), '') <> '' THEN
			static_connections := static_connections + 1;
		END IF;
	END LOOP;
	db_state := 'Normal';
	detail_information := 'Normal';
	IF mode = 'pending' THEN
		-- §2.7 Corrected: Pending always shows Need repair, its walreceiver not running
		-- (postmaster.cpp:10221-10232, 13351-13388).
		local_role := 'Pending';
		db_state := 'Need repair';
		detail_information := 'Connecting...';
	ELSIF mode = 'primary' THEN
		IF in_recovery THEN
			local_role := 'Standby';               -- §2.7 db_state Promoting: failover in flight
			db_state := 'Promoting';
		ELSIF static_connections = 0 THEN
			local_role := 'Normal';                -- §2.2 a primary with no replconninfo is Normal
		ELSE
			local_role := 'Primary';
		END IF;
	ELSIF mode IN ('standby', 'cascade_standby') THEN
		local_role := CASE mode WHEN 'standby' THEN 'Standby' ELSE 'Cascade Standby' END;
		SELECT status INTO receiver_status FROM pg_catalog.pg_stat_wal_receiver LIMIT 1;
		IF receiver_status IS NULL OR receiver_status <> 'streaming' THEN
			-- §2.7 Corrected: Need repair while the walreceiver is not running or a rebuild
			-- reason is set; Starting while it runs but is not online. A rebuild reason the
			-- emulated walreceiver saw in the server log, or "Disconnected" (no usable
			-- entry), wins over "Connecting..." (walreceiver not running).
			IF detail <> '' THEN
				db_state := 'Need repair';
				detail_information := detail;
			ELSIF receiver_status IS NULL THEN
				db_state := 'Need repair';
				detail_information := 'Connecting...';
			ELSE
				db_state := 'Starting';
				detail_information := 'Connecting...';
			END IF;
		END IF;
	ELSE
		local_role := 'Normal';                        -- §2.2 started without -M, or reset to Normal
	END IF;
END
$$;

-- §2.6 disable_conn(mode, host, port): prohibit_connection (follow no primary),
-- specify_connection (only host:port, an entry's remotehost and its remoteport, the HA port),
-- polling_connection (back to walking the entries). Kept in disable_conn_file, which survives
-- restarts; the emulated walreceiver (og_emulator_ha) obeys it. NOT EMULATED: the sysadmin check
-- and prohibit_connection's ERROR until local redo is done.
CREATE FUNCTION og_emulator.disable_conn(disconn_mode text, disconn_host text, disconn_port integer)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	IF disconn_mode NOT IN ('prohibit_connection', 'specify_connection', 'polling_connection') THEN
		RAISE EXCEPTION 'Invalid disconn_mode "%" (openGauss emulator, opengauss.md 2.6)', disconn_mode;
	END IF;
	IF disconn_mode = 'specify_connection' AND (coalesce(disconn_host, '') = '' OR disconn_port IS NULL) THEN
		RAISE EXCEPTION 'specify_connection needs a host and a port (openGauss emulator, opengauss.md 2.6)';
	END IF;
	EXECUTE pg_catalog.format('COPY (SELECT %L) TO %L',
		disconn_mode || ' ' || coalesce(nullif(disconn_host, ''), '-') || ' ' || coalesce(disconn_port, 0),
		pg_catalog.current_setting('data_directory') || '/disable_conn_file');
END
$$;

-- §2.6 read_disable_conn_file(): the current setting (the emulator returns mode, host and port).
CREATE FUNCTION og_emulator.read_disable_conn_file(OUT disconn_mode text, OUT disconn_host text,
	OUT disconn_port text)
RETURNS record LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
	t text := pg_catalog.pg_read_file('disable_conn_file', 0, 1024, true);
	f text[];
BEGIN
	IF t IS NULL THEN
		disconn_mode := 'polling_connection';
		disconn_host := '';
		disconn_port := '0';
		RETURN;
	END IF;
	f := pg_catalog.string_to_array(pg_catalog.btrim(t, E' \n'), ' ');
	disconn_mode := f[1];
	disconn_host := CASE WHEN f[2] = '-' THEN '' ELSE f[2] END;
	disconn_port := f[3];
END
$$;

-- §2.7 location functions: PG 9.x names, every location returned as text.
CREATE FUNCTION og_emulator.pg_current_xlog_location() RETURNS text
LANGUAGE sql AS $$ SELECT pg_catalog.pg_current_wal_lsn()::text $$;

CREATE FUNCTION og_emulator.pg_current_xlog_insert_location() RETURNS text
LANGUAGE sql AS $$ SELECT pg_catalog.pg_current_wal_insert_lsn()::text $$;

CREATE FUNCTION og_emulator.pg_last_xlog_receive_location() RETURNS text
LANGUAGE sql AS $$ SELECT pg_catalog.pg_last_wal_receive_lsn()::text $$;

CREATE FUNCTION og_emulator.pg_xlog_location_diff(text, text) RETURNS numeric
LANGUAGE sql AS $$ SELECT pg_catalog.pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn) $$;

CREATE FUNCTION og_emulator.pg_xlog_replay_pause() RETURNS void
LANGUAGE sql AS $$ SELECT pg_catalog.pg_wal_replay_pause() $$;

CREATE FUNCTION og_emulator.pg_xlog_replay_resume() RETURNS void
LANGUAGE sql AS $$ SELECT pg_catalog.pg_wal_replay_resume() $$;

CREATE FUNCTION og_emulator.pg_is_xlog_replay_paused() RETURNS boolean
LANGUAGE sql AS $$ SELECT pg_catalog.pg_is_wal_replay_paused() $$;

-- §2.7: pg_last_xlog_replay_location() returns a record (term text, lsn text): the higher of the
-- term_file and WAL terms, and term 0 with lsn "0/0" while recovery is not finished (here: in
-- recovery with nothing replayed yet).
CREATE FUNCTION og_emulator.pg_last_xlog_replay_location(OUT term text, OUT lsn text)
RETURNS record LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
	replayed pg_lsn := pg_catalog.pg_last_wal_replay_lsn();
BEGIN
	IF replayed IS NULL AND pg_catalog.pg_is_in_recovery() THEN
		term := '0';
		lsn := '0/0';
	ELSE
		term := og_emulator.term()::text;
		lsn := coalesce(replayed::text, '0/0');
	END IF;
END
$$;

-- §2.7 SQL 2: the walsenders of a primary; locations as text, openGauss's capitalised words,
-- sync_percent as "NN%", channel "ip:port-->ip:port".
CREATE FUNCTION og_emulator.pg_stat_get_wal_senders(OUT pid bigint, OUT sender_pid integer,
	OUT local_role text, OUT peer_role text, OUT peer_state text, OUT state text,
	OUT catchup_start timestamptz, OUT catchup_end timestamptz,
	OUT sender_sent_location text, OUT sender_write_location text,
	OUT sender_flush_location text, OUT sender_replay_location text,
	OUT receiver_received_location text, OUT receiver_write_location text,
	OUT receiver_flush_location text, OUT receiver_replay_location text,
	OUT sync_percent text, OUT sync_state text, OUT sync_priority integer,
	OUT sync_most_available text, OUT channel text)
RETURNS SETOF record LANGUAGE sql SECURITY DEFINER AS $$
	SELECT r.pid::bigint, r.pid, 'Primary', 'Standby', 'Normal', pg_catalog.initcap(r.state),
		NULL::timestamptz, NULL::timestamptz,
		r.sent_lsn::text, r.sent_lsn::text, r.sent_lsn::text, r.sent_lsn::text,
		r.write_lsn::text, r.write_lsn::text, r.flush_lsn::text, r.replay_lsn::text,
		CASE WHEN r.replay_lsn >= r.sent_lsn THEN '100%'
		     ELSE (100 * ((coalesce(r.replay_lsn, '0/0'::pg_lsn) - '0/0'::pg_lsn)
			   / greatest(r.sent_lsn - '0/0'::pg_lsn, 1)))::int::text || '%' END,
		pg_catalog.initcap(r.sync_state), r.sync_priority,
		CASE WHEN pg_catalog.lower(coalesce(og_emulator.setting('most_available_sync'), 'off'))
			  IN ('on', 'true', '1', 'yes') THEN 'On' ELSE 'Off' END,
		'127.0.0.1:' || (pg_catalog.current_setting('port')::int + 1) || '-->'
			|| coalesce(pg_catalog.host(r.client_addr), 'local') || ':'
			|| coalesce(r.client_port, -1)
	FROM pg_catalog.pg_stat_replication r
$$;

-- §2.7 SQL 3: the walreceiver of a standby.
CREATE FUNCTION og_emulator.pg_stat_get_wal_receiver(OUT receiver_pid integer, OUT local_role text,
	OUT peer_role text, OUT peer_state text, OUT state text,
	OUT sender_sent_location text, OUT sender_write_location text,
	OUT sender_flush_location text, OUT sender_replay_location text,
	OUT receiver_received_location text, OUT receiver_write_location text,
	OUT receiver_flush_location text, OUT receiver_replay_location text,
	OUT sync_percent text, OUT channel text)
RETURNS SETOF record LANGUAGE sql SECURITY DEFINER AS $$
	SELECT w.pid, 'Standby', 'Primary', 'Normal',
		CASE w.status WHEN 'streaming' THEN 'Normal' ELSE 'Starting' END,
		w.latest_end_lsn::text, w.latest_end_lsn::text, w.latest_end_lsn::text,
		w.latest_end_lsn::text, w.flushed_lsn::text, w.written_lsn::text,
		w.flushed_lsn::text, pg_catalog.pg_last_wal_replay_lsn()::text,
		CASE WHEN pg_catalog.pg_last_wal_replay_lsn() >= w.latest_end_lsn THEN '100%' ELSE '99%' END,
		'127.0.0.1:' || (pg_catalog.current_setting('port')::int + 1) || '<--'
			|| coalesce(w.sender_host, '') || ':'
			|| (coalesce(w.sender_port, 0) + 1)
	FROM pg_catalog.pg_stat_wal_receiver w
$$;

-- §2.7 "The pg_stat_replication view in openGauss": these columns and no *_lsn, *_lag or
-- reply_time.
CREATE VIEW og_emulator.pg_stat_replication AS
	SELECT r.pid, r.usesysid, r.usename, r.application_name, r.client_addr, r.client_hostname,
		r.client_port, r.backend_start, pg_catalog.initcap(r.state) AS state,
		r.sent_lsn::text AS sender_sent_location, r.write_lsn::text AS receiver_write_location,
		r.flush_lsn::text AS receiver_flush_location,
		r.replay_lsn::text AS receiver_replay_location, r.sync_priority,
		pg_catalog.initcap(r.sync_state) AS sync_state
	FROM pg_catalog.pg_stat_replication r;

-- §2.7: "There is no pg_current_wal_lsn, pg_last_wal_receive_lsn, pg_last_wal_replay_lsn,
-- pg_wal_lsn_diff or pg_promote" (and §2.4: openGauss has no pg_promote()). These shadows make a
-- driver that uses them fail here as it would on openGauss.
CREATE FUNCTION og_emulator.pg_current_wal_lsn() RETURNS pg_lsn LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'function pg_current_wal_lsn() does not exist (openGauss emulator, opengauss.md 2.7)' USING ERRCODE = '42883'; END $$;

CREATE FUNCTION og_emulator.pg_last_wal_receive_lsn() RETURNS pg_lsn LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'function pg_last_wal_receive_lsn() does not exist (openGauss emulator, opengauss.md 2.7)' USING ERRCODE = '42883'; END $$;

CREATE FUNCTION og_emulator.pg_last_wal_replay_lsn() RETURNS pg_lsn LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'function pg_last_wal_replay_lsn() does not exist (openGauss emulator, opengauss.md 2.7)' USING ERRCODE = '42883'; END $$;

CREATE FUNCTION og_emulator.pg_wal_lsn_diff(pg_lsn, pg_lsn) RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'function pg_wal_lsn_diff() does not exist (openGauss emulator, opengauss.md 2.7)' USING ERRCODE = '42883'; END $$;

CREATE FUNCTION og_emulator.pg_promote(wait boolean DEFAULT true, wait_seconds integer DEFAULT 60)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'function pg_promote() does not exist (openGauss emulator, opengauss.md 2.4)' USING ERRCODE = '42883'; END $$;
