"""The PostgreSQL function behind the one-round-trip checkout (inventory.one_trip).

`gaogan_take(rows, supply_ids, quantities)` writes the given rows (table by table, in the
order given: an order before its lines, a reservation before its claims) and then takes the
stock with ONE guarded `UPDATE supply ... WHERE promised + n <= capacity`, last, so a supply
row is locked only from that UPDATE to the caller's commit. With more than one supply row it
first locks them all in id order (`FOR NO KEY UPDATE`), like inventory.locks, so two orders
naming the same rows in opposite order queue instead of deadlocking.

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
other table still works, through the generic dynamic INSERT.

The text below is also what the latest migration creating it (`20261203_perf2`) holds;
`tests/inventory/test_one_trip.py` checks the two stay the same.
"""

from __future__ import annotations

TAKE_FUNCTION = """
CREATE OR REPLACE FUNCTION gaogan_take(p_rows jsonb, p_supply_ids integer[], p_quantities integer[])
RETURNS integer[]
LANGUAGE plpgsql AS $fn$
DECLARE
    v_entry jsonb;
    v_table text;
    v_columns text;
    v_ids integer[];
    v_written jsonb := '[]'::jsonb;
    v_taken integer;
    v_made integer[];
BEGIN
    IF coalesce(array_length(p_supply_ids, 1), 0) > 1 THEN
        PERFORM 1 FROM supply WHERE id = ANY (p_supply_ids) ORDER BY id FOR NO KEY UPDATE;
    END IF;
    FOR v_entry IN SELECT e.value FROM jsonb_array_elements(p_rows) AS e(value) LOOP
        CONTINUE WHEN jsonb_array_length(v_entry->1) = 0;
        v_table := v_entry->>0;
        CASE v_table
        WHEN 'orders' THEN
            WITH w AS (
                INSERT INTO orders SELECT r.* FROM jsonb_array_elements(v_entry->1) AS e(value),
                LATERAL jsonb_populate_record(NULL::orders, CASE WHEN e.value ? 'id' THEN e.value
                    ELSE jsonb_build_object('id', nextval('orders_id_seq')) || e.value END) AS r
                RETURNING id
            ) SELECT array_agg(id) INTO v_ids FROM w;
        WHEN 'order_lines' THEN
            WITH w AS (
                INSERT INTO order_lines SELECT r.* FROM jsonb_array_elements(v_entry->1) AS e(value),
                LATERAL jsonb_populate_record(NULL::order_lines, CASE WHEN e.value ? 'id' THEN e.value
                    ELSE jsonb_build_object('id', nextval('order_lines_id_seq')) || e.value END) AS r
                RETURNING id
            ) SELECT array_agg(id) INTO v_ids FROM w;
        WHEN 'reservations' THEN
            WITH w AS (
                INSERT INTO reservations SELECT r.* FROM jsonb_array_elements(v_entry->1) AS e(value),
                LATERAL jsonb_populate_record(NULL::reservations, CASE WHEN e.value ? 'id' THEN e.value
                    ELSE jsonb_build_object('id', nextval('reservations_id_seq')) || e.value END) AS r
                RETURNING id
            ) SELECT array_agg(id) INTO v_ids FROM w;
        WHEN 'claims' THEN
            WITH w AS (
                INSERT INTO claims SELECT r.* FROM jsonb_array_elements(v_entry->1) AS e(value),
                LATERAL jsonb_populate_record(NULL::claims, CASE WHEN e.value ? 'id' THEN e.value
                    ELSE jsonb_build_object('id', nextval('claims_id_seq')) || e.value END) AS r
                RETURNING id
            ) SELECT array_agg(id) INTO v_ids FROM w;
        WHEN 'outbox' THEN
            WITH w AS (
                INSERT INTO outbox SELECT r.* FROM jsonb_array_elements(v_entry->1) AS e(value),
                LATERAL jsonb_populate_record(NULL::outbox, CASE WHEN e.value ? 'id' THEN e.value
                    ELSE jsonb_build_object('id', nextval('outbox_id_seq')) || e.value END) AS r
                RETURNING id
            ) SELECT array_agg(id) INTO v_ids FROM w;
        ELSE
            SELECT string_agg(quote_ident(k), ', ') INTO v_columns
            FROM jsonb_object_keys(v_entry->1->0) AS k;
            EXECUTE format(
                'WITH w AS (INSERT INTO %I (%s) SELECT %s FROM jsonb_populate_recordset(NULL::%I, $1) '
                'RETURNING id) SELECT array_agg(id) FROM w',
                v_table, v_columns, v_columns, v_table
            ) INTO v_ids USING v_entry->1;
        END CASE;
        v_written := v_written || jsonb_build_array(jsonb_build_array(v_table, to_jsonb(v_ids)));
    END LOOP;
    WITH taken AS (
        UPDATE supply AS s SET promised = s.promised + d.quantity
        FROM unnest(p_supply_ids, p_quantities) AS d(id, quantity)
        WHERE s.id = d.id AND NOT s.closed
          AND s.promised + d.quantity <= coalesce(s.actual, s.planned)
        RETURNING s.id, s.actual
    )
    SELECT count(*), coalesce(array_agg(taken.id) FILTER (WHERE taken.actual IS NOT NULL), '{}')
    INTO v_taken, v_made FROM taken;
    IF v_taken = coalesce(array_length(p_supply_ids, 1), 0) THEN
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
