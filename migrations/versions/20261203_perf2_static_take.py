"""perf2 (issue 12): gaogan_take with static INSERTs for the tables a checkout writes

Revision ID: perf2_0001
Revises: cart_0001
Create Date: 2026-12-03 14:00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "perf2_0001"
down_revision: str | None = "cart_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of inventory.take_function.TAKE_FUNCTION at this revision (a migration must not
# change when the code does); tests/inventory/test_one_trip.py checks they still agree, and a
# later change to the function comes with a new migration. Downgrading restores the generic
# function of 20261202_perf, which the code before this revision calls the same way.
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TAKE_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_previous_function())


def _previous_function() -> str:
    path = Path(__file__).with_name("20261202_perf_one_trip.py")
    spec = importlib.util.spec_from_file_location("perf_one_trip", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.TAKE_FUNCTION)
