"""perf: the one-round-trip take function and the partial index for live holds

Revision ID: 20261202_perf
Revises: 0001
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_perf"
down_revision: str | None = "20261202_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of inventory.take_function.TAKE_FUNCTION at this revision (a migration must not
# change when the code does); tests/inventory/test_one_trip.py checks they still agree, and a
# later change to the function comes with a new migration.
TAKE_FUNCTION = """
CREATE OR REPLACE FUNCTION gaogan_take(p_rows jsonb, p_supply_ids integer[], p_quantities integer[])
RETURNS integer[]
LANGUAGE plpgsql AS $fn$
DECLARE
    v_entry jsonb;
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
        SELECT string_agg(quote_ident(k), ', ') INTO v_columns
        FROM jsonb_object_keys(v_entry->1->0) AS k;
        EXECUTE format(
            'WITH w AS (INSERT INTO %I (%s) SELECT %s FROM jsonb_populate_recordset(NULL::%I, $1) '
            'RETURNING id) SELECT array_agg(id) FROM w',
            v_entry->>0, v_columns, v_columns, v_entry->>0
        ) INTO v_ids USING v_entry->1;
        v_written := v_written || jsonb_build_array(jsonb_build_array(v_entry->>0, to_jsonb(v_ids)));
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
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index(
            "ix_claims_live_holds",
            ["supply_id", "expires_at"],
            unique=False,
            postgresql_include=["quantity"],
            postgresql_where=sa.text("kind = 'hold' AND status = 'active'"),
            sqlite_where=sa.text("kind = 'hold' AND status = 'active'"),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TAKE_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gaogan_take(jsonb, integer[], integer[])")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_live_holds")
