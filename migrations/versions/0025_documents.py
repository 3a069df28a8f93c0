"""Official documents (issue 15): the documents made from referrals and rectification items,
their numbers' counters per agency, kind and year, the agencies' number prefixes, and templates
the security administrator uploaded. A document's files are attachments owned by the document,
so the attachments' one-owner check gains a fourth owner.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08 00:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


ONE_OF_THREE = ("(CASE WHEN finding_id IS NULL THEN 0 ELSE 1 END"
                " + CASE WHEN referral_id IS NULL THEN 0 ELSE 1 END"
                " + CASE WHEN rectification_report_id IS NULL THEN 0 ELSE 1 END) = 1")
ONE_OF_FOUR = ("(CASE WHEN finding_id IS NULL THEN 0 ELSE 1 END"
               " + CASE WHEN referral_id IS NULL THEN 0 ELSE 1 END"
               " + CASE WHEN rectification_report_id IS NULL THEN 0 ELSE 1 END"
               " + CASE WHEN document_id IS NULL THEN 0 ELSE 1 END) = 1")
KIND = sa.Enum('referral_letter', 'chaser', 'rectification_notice', 'sign_off_sheet',
               'urge_notice', name='document_kind', native_enum=False, create_constraint=True,
               length=20)

# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('document_number_counters',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', KIND, nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_document_number_counters_agency_id_agencies')),
    sa.PrimaryKeyConstraint('agency_id', 'kind', 'year', name=op.f('pk_document_number_counters'))
    )
    op.create_table('document_number_prefixes',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', KIND, nullable=False),
    sa.Column('prefix', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_document_number_prefixes_agency_id_agencies')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_document_number_prefixes_updated_by_id_users')),
    sa.PrimaryKeyConstraint('agency_id', 'kind', name=op.f('pk_document_number_prefixes'))
    )
    op.create_table('document_templates',
    sa.Column('kind', KIND, nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_document_templates_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_document_templates'))
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', KIND, nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('rectification_id', sa.Integer(), nullable=True),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('generated_by_id', sa.Integer(), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.CheckConstraint('(referral_id IS NULL) <> (rectification_id IS NULL)', name=op.f('ck_documents_one_record')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_documents_agency_id_agencies')),
    sa.ForeignKeyConstraint(['generated_by_id'], ['users.id'], name=op.f('fk_documents_generated_by_id_users')),
    sa.ForeignKeyConstraint(['rectification_id'], ['rectifications.id'], name=op.f('fk_documents_rectification_id_rectifications')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_documents_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('agency_id', 'kind', 'year', 'sequence', 'version', name=op.f('uq_documents_agency_id_kind_year_sequence_version')),
    sa.UniqueConstraint('public_id', name=op.f('uq_documents_public_id'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index('ix_documents_rectification', ['rectification_id', 'kind', 'version'], unique=True)
        batch_op.create_index('ix_documents_referral', ['referral_id', 'kind', 'version'], unique=True)

    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachments_document_id'), ['document_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_attachments_document_id_documents'), 'documents', ['document_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_attachments_one_owner'), type_='check')
        batch_op.create_check_constraint('one_owner', ONE_OF_FOUR)



def downgrade():
    op.execute("DELETE FROM attachments WHERE document_id IS NOT NULL")
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_attachments_one_owner'), type_='check')
        batch_op.create_check_constraint('one_owner', ONE_OF_THREE)
        batch_op.drop_constraint(batch_op.f('fk_attachments_document_id_documents'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_document_id'))
        batch_op.drop_column('document_id')

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_referral')
        batch_op.drop_index('ix_documents_rectification')

    op.drop_table('documents')
    op.drop_table('document_templates')
    op.drop_table('document_number_prefixes')
    op.drop_table('document_number_counters')
