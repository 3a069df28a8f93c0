"""The finding access table: a row for each agency that may read a finding, with what the lists
filter, count and sort by, so that an index of one agency's rows answers a list page (issue 13).
Filled here from findings, shares and projects by the rule of supervise.policy.findings; from
now on the application keeps it in step in the transaction of every change.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 21:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

COLUMNS = ('agency_id, finding_id, own, status, unit_id, project_id, category_code, year, amount, '
           'created_at')
# The year a finding is listed under: its project's, else the year it was recorded in, in
# Beijing (no daylight saving since 1991, so a fixed eight hours).
LOCAL_YEAR = {
    'sqlite': "CAST(strftime('%Y', f.created_at, '+8 hours') AS INTEGER)",
    'postgresql': "CAST(EXTRACT(YEAR FROM f.created_at AT TIME ZONE 'Asia/Shanghai') AS INTEGER)",
}
FILL = """
INSERT INTO finding_access ({columns})
SELECT f.owner_agency_id, f.id, TRUE, f.status, f.unit_id, f.project_id, f.category_code,
       COALESCE(p.year, {year}), f.amount, f.created_at
FROM findings f LEFT JOIN projects p ON p.id = f.project_id
UNION ALL
SELECT s.agency_id, f.id, FALSE, f.status, f.unit_id, f.project_id, f.category_code,
       COALESCE(p.year, {year}), f.amount, f.created_at
FROM findings f JOIN shares s ON s.finding_id = f.id AND s.withdrawn_at IS NULL
LEFT JOIN projects p ON p.id = f.project_id
WHERE f.status = 'issued' AND s.agency_id <> f.owner_agency_id
"""
TOTALS = """
INSERT INTO finding_totals (agency_id, own, status, year, category_code, findings, cents)
SELECT agency_id, own, status, year, category_code, COUNT(*),
       CAST(COALESCE(SUM(ROUND(amount * 100)), 0) AS BIGINT)
FROM finding_access GROUP BY agency_id, own, status, year, category_code
"""


def upgrade():
    op.create_table(
        'finding_access',
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('finding_id', sa.Integer(), nullable=False),
        sa.Column('own', sa.Boolean(), nullable=False),
        sa.Column('status', sa.Enum('draft', 'pending_issue', 'issued', name='finding_status',
                                    native_enum=False, create_constraint=True, length=20),
                  nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=True),
        sa.Column('category_code', sa.String(length=40), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'],
                                name=op.f('fk_finding_access_agency_id_agencies')),
        sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], ondelete='CASCADE',
                                name=op.f('fk_finding_access_finding_id_findings')),
        sa.PrimaryKeyConstraint('agency_id', 'finding_id', name=op.f('pk_finding_access')),
    )
    with op.batch_alter_table('finding_access', schema=None) as batch_op:
        batch_op.create_index('ix_finding_access_listed',
                              ['agency_id', 'own', 'created_at', 'finding_id'])
        batch_op.create_index('ix_finding_access_newest', ['agency_id', 'created_at', 'finding_id'])
        batch_op.create_index('ix_finding_access_status',
                              ['agency_id', 'status', 'created_at', 'finding_id'])
        batch_op.create_index('ix_finding_access_unit',
                              ['agency_id', 'unit_id', 'created_at', 'finding_id'])
        batch_op.create_index('ix_finding_access_project',
                              ['agency_id', 'project_id', 'created_at', 'finding_id'])
        batch_op.create_index('ix_finding_access_category',
                              ['agency_id', 'category_code', 'created_at', 'finding_id'])
        batch_op.create_index('ix_finding_access_year',
                              ['agency_id', 'year', 'created_at', 'finding_id'])
        batch_op.create_index('ix_finding_access_finding_id', ['finding_id'])
    op.create_table(
        'finding_totals',
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('own', sa.Boolean(), nullable=False),
        sa.Column('status', sa.Enum('draft', 'pending_issue', 'issued', name='finding_status',
                                    native_enum=False, create_constraint=True, length=20),
                  nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('category_code', sa.String(length=40), nullable=False),
        sa.Column('findings', sa.Integer(), nullable=False),
        sa.Column('cents', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'],
                                name=op.f('fk_finding_totals_agency_id_agencies')),
        sa.PrimaryKeyConstraint('agency_id', 'own', 'status', 'year', 'category_code',
                                name=op.f('pk_finding_totals')),
    )
    # A share's finding is read through it; an index of its own (the partial unique index of
    # active shares cannot serve a list's shares, withdrawn ones included).
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.create_index('ix_shares_finding_id', ['finding_id'])
    bind = op.get_bind()
    op.execute(FILL.format(columns=COLUMNS, year=LOCAL_YEAR[bind.dialect.name]))
    op.execute(TOTALS)


def downgrade():
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_index('ix_shares_finding_id')
    op.drop_table('finding_totals')
    op.drop_table('finding_access')
