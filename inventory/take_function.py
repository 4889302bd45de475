"""The PostgreSQL function behind the one-round-trip checkout (inventory.one_trip).

`gaogan_take(rows, supply_ids, quantities)` writes the given rows (table by table, in the
order given: an order before its lines) and then takes the stock with ONE guarded `UPDATE
supply ... WHERE promised + n <= capacity`, so a supply row is locked only from that UPDATE to
the caller's commit; the claims, whichever place they have in `rows`, are written right after
the UPDATE (see `gaogan_reserve` below for why). With more than one supply row it first locks
them all in id order (`FOR NO KEY UPDATE`), like inventory.locks, so two orders naming the same
rows in opposite order queue instead of deadlocking.

It returns the ids of the taken rows whose day has been made (their lots exist), or NULL when
any row no longer fits: then it has deleted what it wrote, and the caller goes the locked
Python way (which also reclaims expired holds and says what is short).

Rows are `[[table, [{column: value}, ...]], ...]`, each row a JSON object of column values;
a column left out is NULL, a missing `id` comes from the table's sequence. The tables a
checkout or a booking writes (orders, order_lines, reservations, claims, outbox) have static
INSERTs, whose plans PostgreSQL keeps for the session: built with `format` and `EXECUTE`
they were planned afresh on every call, a quarter of the function's time (1.9 -> 1.4 ms for
a one-line checkout, docs/BENCHMARKS.md). `SELECT r.* FROM jsonb_populate_record(NULL::t,
...)` follows the table's own columns, so a table gaining a column needs no change here. Any
other table still works, through the same INSERT built with `format` and `EXECUTE`.

The texts below are also what the latest migration creating them (`20261203_perf2`) holds;
`tests/inventory/test_one_trip.py` checks the two stay the same.
"""

from __future__ import annotations

# The tables a checkout writes, each with its own static INSERT in gaogan_take (the same text
# but for the table's name).
STATIC_TABLES = ("orders", "order_lines", "reservations", "outbox")


def _static_insert(table: str) -> str:
    return f"""        WHEN '{table}' THEN
            WITH w AS (
                INSERT INTO {table} SELECT r.* FROM jsonb_array_elements(v_entry->1) AS e(value),
                LATERAL jsonb_populate_record(NULL::{table}, CASE WHEN e.value ? 'id' THEN e.value
                    ELSE jsonb_build_object('id', nextval('{table}_id_seq')) || e.value END) AS r
                RETURNING id
            ) SELECT array_agg(id) INTO v_ids FROM w;
"""


def _take_stock(ids: str, quantities: str) -> str:
    """The one guarded UPDATE both functions take stock with: `ids` and `quantities` name
    PL/pgSQL arrays; sets v_taken (rows taken) and v_made (those whose day has been made)."""
    return f"""    WITH taken AS (
        UPDATE supply AS s SET promised = s.promised + d.quantity
        FROM unnest({ids}, {quantities}) AS d(id, quantity)
        WHERE s.id = d.id AND NOT s.closed
          AND s.promised + d.quantity <= coalesce(s.actual, s.planned)
        RETURNING s.id, s.actual
    )
    SELECT count(*), coalesce(array_agg(taken.id) FILTER (WHERE taken.actual IS NOT NULL), '{{}}')
    INTO v_taken, v_made FROM taken;
"""


TAKE_FUNCTION = (
    """
CREATE OR REPLACE FUNCTION gaogan_take(p_rows jsonb, p_supply_ids integer[], p_quantities integer[])
RETURNS integer[]
LANGUAGE plpgsql AS $fn$
DECLARE
    v_entry jsonb;
    v_table text;
    v_ids integer[];
    v_written jsonb := '[]'::jsonb;
    v_taken integer;
    v_made integer[];
    v_claims jsonb;
BEGIN
    IF coalesce(array_length(p_supply_ids, 1), 0) > 1 THEN
        PERFORM 1 FROM supply WHERE id = ANY (p_supply_ids) ORDER BY id FOR NO KEY UPDATE;
    END IF;
    FOR v_entry IN SELECT e.value FROM jsonb_array_elements(p_rows) AS e(value) LOOP
        CONTINUE WHEN jsonb_array_length(v_entry->1) = 0;
        v_table := v_entry->>0;
        IF v_table = 'claims' THEN
            v_claims := coalesce(v_claims, '[]'::jsonb) || (v_entry->1);
            CONTINUE;
        END IF;
        CASE v_table
"""
    + "".join(_static_insert(table) for table in STATIC_TABLES)
    + """        ELSE
            EXECUTE format(
                'WITH w AS (INSERT INTO %1$I SELECT r.* FROM jsonb_array_elements($1) AS e(value), '
                'LATERAL jsonb_populate_record(NULL::%1$I, CASE WHEN e.value ? ''id'' THEN e.value '
                'ELSE jsonb_build_object(''id'', nextval(pg_get_serial_sequence(%2$L, ''id''))) '
                '|| e.value END) AS r RETURNING id) SELECT array_agg(id) FROM w',
                v_table, v_table
            ) INTO v_ids USING v_entry->1;
        END CASE;
        v_written := v_written || jsonb_build_array(jsonb_build_array(v_table, to_jsonb(v_ids)));
    END LOOP;
"""
    + _take_stock("p_supply_ids", "p_quantities")
    + """    IF v_taken = coalesce(array_length(p_supply_ids, 1), 0) THEN
        -- The claims last: their foreign key check on a supply row this transaction now holds
        -- needs no further lock, where before the UPDATE every concurrent checkout's check
        -- took a share lock on the same hot row (a MultiXact the UPDATE then had to wait on).
        IF v_claims IS NOT NULL THEN
            INSERT INTO claims SELECT r.* FROM jsonb_array_elements(v_claims) AS e(value),
            LATERAL jsonb_populate_record(NULL::claims, CASE WHEN e.value ? 'id' THEN e.value
                ELSE jsonb_build_object('id', nextval('claims_id_seq')) || e.value END) AS r;
        END IF;
        RETURN v_made;
    END IF;
    -- Lost a race for the last units (or a row closed meanwhile): undo, newest table first.
    FOR v_entry IN
        SELECT w.value FROM jsonb_array_elements(v_written) WITH ORDINALITY AS w(value, n)
        ORDER BY w.n DESC
    LOOP
        EXECUTE format('DELETE FROM %I WHERE id = ANY ($1)', v_entry->>0)
        USING ARRAY(SELECT jsonb_array_elements_text(v_entry->1)::integer);
    END LOOP;
    RETURN NULL;
END
$fn$
"""
)

# `gaogan_reserve(ref, skus, days, quantities, window_days, hold_until, now, event)`:
# `reservations.reserve` in ONE statement for the case that needs no decision the database
# cannot make alone. It reads the products and the open supply rows of each line's window,
# splits each line freshest first (the latest production day, then the highest id, as
# `rules.take_freshest_first`, lines in the order given drawing on what earlier lines left),
# writes the reservation and its `stock.reserved` event (built by the caller), takes the stock
# with one guarded UPDATE (rows locked in id order first when there are several) and writes
# the claims after it, so that their foreign key checks find the hot supply row already
# locked by this transaction instead of taking a share lock on it before the UPDATE.
#
# It returns `[reservation id, made supply ids...]`, or NULL whenever the caller must decide:
# a SKU not sold, the ref already taken, stock short in the window (the locked Python path
# then reclaims expired holds and says what is short), or the race for the last units lost
# between its read and its UPDATE (then it has deleted what it wrote). A ref taken by a
# concurrent call raises the unique violation, as an INSERT would.
RESERVE_FUNCTION = (
    """
CREATE OR REPLACE FUNCTION gaogan_reserve(
    p_ref text, p_skus text[], p_days date[], p_quantities integer[], p_window integer,
    p_hold_until timestamptz, p_now timestamptz, p_event jsonb)
RETURNS integer[]
LANGUAGE plpgsql AS $fn$
DECLARE
    v_item integer;
    v_window integer;
    v_left integer;
    v_free integer;
    v_take integer;
    v_pos integer;
    v_row record;
    v_rows integer[] := '{}';
    v_row_quantities integer[] := '{}';
    v_claim_rows integer[] := '{}';
    v_claim_items integer[] := '{}';
    v_claim_days date[] := '{}';
    v_claim_lines integer[] := '{}';
    v_claim_quantities integer[] := '{}';
    v_reservation integer;
    v_event integer;
    v_taken integer;
    v_made integer[];
BEGIN
    IF EXISTS (SELECT 1 FROM reservations WHERE ref = p_ref) THEN
        RETURN NULL;
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_skus, 1), 0) LOOP
        SELECT it.id, coalesce(p_window, it.freshness_days, 1) INTO v_item, v_window
        FROM items AS it WHERE it.sku = p_skus[i] AND it.kind = 'product' AND it.active;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        v_left := p_quantities[i];
        FOR v_row IN
            SELECT s.id, coalesce(s.actual, s.planned) - s.promised AS free
            FROM supply AS s
            WHERE s.item_id = v_item AND NOT s.closed
              AND s.production_day BETWEEN p_days[i] - (v_window - 1) AND p_days[i]
            ORDER BY s.production_day DESC, s.id DESC
        LOOP
            EXIT WHEN v_left = 0;
            v_pos := array_position(v_rows, v_row.id);
            v_free := v_row.free - CASE WHEN v_pos IS NULL THEN 0 ELSE v_row_quantities[v_pos] END;
            v_take := least(v_left, greatest(0, v_free));
            CONTINUE WHEN v_take = 0;
            IF v_pos IS NULL THEN
                v_rows := v_rows || v_row.id;
                v_row_quantities := v_row_quantities || v_take;
            ELSE
                v_row_quantities[v_pos] := v_row_quantities[v_pos] + v_take;
            END IF;
            v_claim_rows := v_claim_rows || v_row.id;
            v_claim_items := v_claim_items || v_item;
            v_claim_days := v_claim_days || p_days[i];
            v_claim_lines := v_claim_lines || (i - 1);
            v_claim_quantities := v_claim_quantities || v_take;
            v_left := v_left - v_take;
        END LOOP;
        IF v_left > 0 THEN
            RETURN NULL;
        END IF;
    END LOOP;

    INSERT INTO reservations (ref, status, expires_at, created_at, updated_at)
    VALUES (p_ref, CASE WHEN p_hold_until IS NULL THEN 'confirmed' ELSE 'held' END,
            p_hold_until, p_now, p_now)
    RETURNING id INTO v_reservation;
    INSERT INTO outbox SELECT r.*
    FROM jsonb_populate_record(NULL::outbox, jsonb_build_object('id', nextval('outbox_id_seq')) || p_event) AS r
    RETURNING id INTO v_event;

    IF array_length(v_rows, 1) > 1 THEN
        PERFORM 1 FROM supply WHERE id = ANY (v_rows) ORDER BY id FOR NO KEY UPDATE;
    END IF;
"""
    + _take_stock("v_rows", "v_row_quantities")
    + """    IF v_taken <> coalesce(array_length(v_rows, 1), 0) THEN
        -- Lost the race for the last units (or a row closed meanwhile): undo.
        DELETE FROM outbox WHERE id = v_event;
        DELETE FROM reservations WHERE id = v_reservation;
        RETURN NULL;
    END IF;
    INSERT INTO claims (reservation_id, supply_id, item_id, demand_day, line_no, quantity,
                        kind, status, expires_at, created_at)
    SELECT v_reservation, c.supply_id, c.item_id, c.demand_day, c.line_no, c.quantity,
           CASE WHEN p_hold_until IS NULL THEN 'allocation' ELSE 'hold' END, 'active',
           p_hold_until, p_now
    FROM unnest(v_claim_rows, v_claim_items, v_claim_days, v_claim_lines, v_claim_quantities)
         AS c(supply_id, item_id, demand_day, line_no, quantity);
    RETURN v_reservation || v_made;
END
$fn$
"""
)
