"""A referral keeps the findings it cites as they were when it was sent (their text, and copies
of their evidence), for the receiver to read; and a department answers with dispositions of
its own (已采纳, 部分采纳, 不予采纳, 移交其他部门), beside the commission's.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COMMISSION = ('talk_or_inquiry', 'preliminary_verification', 'held', 'closed', 'case_opened',
              'transferred')
BEFORE = (*COMMISSION, 'handled')
AFTER = (*BEFORE, 'adopted', 'partly_adopted', 'not_adopted', 'passed_on')


def _dispositions(values):
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_referrals_disposition'), type_='check')
        batch_op.create_check_constraint(
            'disposition', sa.column('disposition').in_(values))


def upgrade():
    op.create_table(
        'referral_cited_findings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('finding_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('owner_agency_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('category_code', sa.String(length=40), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('facts', sa.Text(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column('legal_basis', sa.Text(), nullable=False),
        sa.Column('recommendation', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['category_code'], ['categories.code'],
                                name=op.f('fk_referral_cited_findings_category_code_categories')),
        sa.ForeignKeyConstraint(['finding_id'], ['findings.id'],
                                name=op.f('fk_referral_cited_findings_finding_id_findings')),
        sa.ForeignKeyConstraint(['owner_agency_id'], ['agencies.id'],
                                name=op.f('fk_referral_cited_findings_owner_agency_id_agencies')),
        sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'],
                                name=op.f('fk_referral_cited_findings_referral_id_referrals')),
        sa.ForeignKeyConstraint(['unit_id'], ['agencies.id'],
                                name=op.f('fk_referral_cited_findings_unit_id_agencies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_cited_findings')),
    )
    with op.batch_alter_table('referral_cited_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_cited_findings_finding_id'), ['finding_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_referral_cited_findings_referral_id'),
                              ['referral_id'], unique=False)
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cited_finding_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachments_cited_finding_id'), ['cited_finding_id'],
                              unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_attachments_cited_finding_id_referral_cited_findings'),
            'referral_cited_findings', ['cited_finding_id'], ['id'])
    _dispositions(AFTER)


def downgrade():
    # Answers with a department's disposition read as "handled", the one word there was.
    op.execute("UPDATE referrals SET disposition = 'handled' "
               "WHERE disposition IN ('adopted', 'partly_adopted', 'not_adopted', 'passed_on')")
    _dispositions(BEFORE)
    # The copies of the cited findings' evidence go with the copies (their files stay on disk
    # until the storage is cleaned).
    op.execute("DELETE FROM attachments WHERE cited_finding_id IS NOT NULL")
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_attachments_cited_finding_id_referral_cited_findings'),
            type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_cited_finding_id'))
        batch_op.drop_column('cited_finding_id')
    with op.batch_alter_table('referral_cited_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_cited_findings_referral_id'))
        batch_op.drop_index(batch_op.f('ix_referral_cited_findings_finding_id'))
    op.drop_table('referral_cited_findings')
