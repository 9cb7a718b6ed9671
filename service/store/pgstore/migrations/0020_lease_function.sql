-- 0020: one round trip per lease call, and what a lease needs for fairness.
--
-- tollgate_lease applies a whole LeaseRequest (see store.LeaseRequest) in one
-- statement under the counter row's lock, instead of six statements sent one
-- by one. starved_until marks a counter whose last grant fell short of what
-- a holder needed, which tells every holder to give back what it does not
-- use; the short grant is also announced on the tollgate_leases channel
-- (payload: the counter), so that holders give it back at once.

ALTER TABLE governance_counters
    ADD COLUMN starved_until timestamptz;

-- tollgate_lease: p_used moves from the holder's lease to the counter's used
-- total; p_return leaves the lease; then p_need is granted in full if the
-- limit allows, else what is left if that is at least p_need_min (what the
-- smallest waiting request needs; 0: any part), else nothing — a part no
-- request can use would only sit idle in the lease; p_extra (room to spare)
-- is granted only up to a fair share of what is left after the need:
-- (room − need) / (2 · (other holders + 1)). A limit of 0 means no
-- limit in that dimension. Another holder's lease that expired is dropped:
-- it counts as used when p_expired_is_used (rate windows), as free room
-- otherwise (budgets: spend comes from what replicas report, never from an
-- unreturned lease; concurrency slots).
CREATE FUNCTION tollgate_lease(
    p_counter text, p_window timestamptz, p_holder text,
    p_limit_a bigint, p_limit_b bigint,
    p_used_a bigint, p_used_b bigint,
    p_return_a bigint, p_return_b bigint,
    p_need_a bigint, p_need_b bigint,
    p_need_min_a bigint, p_need_min_b bigint,
    p_extra_a bigint, p_extra_b bigint,
    p_ttl interval, p_expired_is_used boolean, p_starve interval,
    OUT granted_a bigint, OUT granted_b bigint,
    OUT held_a bigint, OUT held_b bigint,
    OUT used_a bigint, OUT used_b bigint,
    OUT leased_a bigint, OUT leased_b bigint,
    OUT holders integer,
    OUT starved boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_starved timestamptz;
    v_used_a bigint;
    v_used_b bigint;
    exp_a bigint;
    exp_b bigint;
    mine_a bigint;
    mine_b bigint;
    oth_a bigint;
    oth_b bigint;
    n_oth integer;
    room_a bigint;
    room_b bigint;
    need_a bigint;
    need_b bigint;
BEGIN
    -- The counter row's lock serialises every lease call of this counter.
    SELECT c.used_a, c.used_b, c.starved_until INTO v_used_a, v_used_b, v_starved
    FROM governance_counters c
    WHERE c.counter = p_counter AND c.window_start = p_window
    FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO governance_counters (counter, window_start) VALUES (p_counter, p_window)
        ON CONFLICT DO NOTHING;
        SELECT c.used_a, c.used_b, c.starved_until INTO v_used_a, v_used_b, v_starved
        FROM governance_counters c
        WHERE c.counter = p_counter AND c.window_start = p_window
        FOR UPDATE;
    END IF;

    WITH gone AS (
        DELETE FROM governance_leases l
        WHERE l.counter = p_counter AND l.window_start = p_window AND l.holder <> p_holder AND l.expires_at < now()
        RETURNING l.leased_a, l.leased_b)
    SELECT coalesce(sum(g.leased_a), 0)::bigint, coalesce(sum(g.leased_b), 0)::bigint INTO exp_a, exp_b FROM gone g;
    IF p_expired_is_used THEN
        v_used_a := v_used_a + exp_a;
        v_used_b := v_used_b + exp_b;
    END IF;

    SELECT coalesce(sum(l.leased_a) FILTER (WHERE l.holder = p_holder), 0)::bigint,
           coalesce(sum(l.leased_b) FILTER (WHERE l.holder = p_holder), 0)::bigint,
           coalesce(sum(l.leased_a) FILTER (WHERE l.holder <> p_holder), 0)::bigint,
           coalesce(sum(l.leased_b) FILTER (WHERE l.holder <> p_holder), 0)::bigint,
           count(*) FILTER (WHERE l.holder <> p_holder)
    INTO mine_a, mine_b, oth_a, oth_b, n_oth
    FROM governance_leases l
    WHERE l.counter = p_counter AND l.window_start = p_window;

    v_used_a := v_used_a + p_used_a;
    v_used_b := v_used_b + p_used_b;
    held_a := greatest(0, mine_a - p_used_a - p_return_a);
    held_b := greatest(0, mine_b - p_used_b - p_return_b);

    -- Room left under the limit; NULL for a dimension without a limit.
    room_a := CASE WHEN p_limit_a > 0 THEN greatest(0, p_limit_a - v_used_a - oth_a - held_a) END;
    room_b := CASE WHEN p_limit_b > 0 THEN greatest(0, p_limit_b - v_used_b - oth_b - held_b) END;
    need_a := CASE WHEN room_a IS NULL OR room_a >= p_need_a THEN p_need_a
                   WHEN room_a >= p_need_min_a THEN room_a ELSE 0 END;
    need_b := CASE WHEN room_b IS NULL OR room_b >= p_need_b THEN p_need_b
                   WHEN room_b >= p_need_min_b THEN room_b ELSE 0 END;
    granted_a := need_a + least(p_extra_a, coalesce((room_a - need_a) / (2 * (n_oth + 1)), p_extra_a));
    granted_b := need_b + least(p_extra_b, coalesce((room_b - need_b) / (2 * (n_oth + 1)), p_extra_b));
    -- A grant covers every dimension asked for or none: a request needs all.
    IF (p_need_a + p_extra_a > 0 AND granted_a = 0) OR (p_need_b + p_extra_b > 0 AND granted_b = 0) THEN
        granted_a := 0;
        granted_b := 0;
    END IF;
    held_a := held_a + granted_a;
    held_b := held_b + granted_b;

    IF granted_a < p_need_a OR granted_b < p_need_b THEN
        v_starved := now() + p_starve;
        PERFORM pg_notify('tollgate_leases', p_counter);
    END IF;
    UPDATE governance_counters c SET used_a = v_used_a, used_b = v_used_b, starved_until = v_starved
    WHERE c.counter = p_counter AND c.window_start = p_window
      AND (c.used_a, c.used_b, c.starved_until) IS DISTINCT FROM (v_used_a, v_used_b, v_starved);

    IF held_a = 0 AND held_b = 0 THEN
        DELETE FROM governance_leases l
        WHERE l.counter = p_counter AND l.window_start = p_window AND l.holder = p_holder;
        holders := n_oth;
    ELSE
        INSERT INTO governance_leases AS l (counter, window_start, holder, leased_a, leased_b, expires_at)
        VALUES (p_counter, p_window, p_holder, held_a, held_b, now() + p_ttl)
        ON CONFLICT (counter, window_start, holder) DO UPDATE
        SET leased_a = excluded.leased_a, leased_b = excluded.leased_b, expires_at = excluded.expires_at;
        holders := n_oth + 1;
    END IF;
    used_a := v_used_a;
    used_b := v_used_b;
    leased_a := oth_a + held_a;
    leased_b := oth_b + held_b;
    starved := v_starved IS NOT NULL AND v_starved > now();
END
$$;
