"""Projects, findings and their categories, shares, comments, links, attachments; settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:18:55.821300

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('categories',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_categories'))
    )
    categories = sa.table('categories', sa.column('code', sa.String), sa.column('name', sa.String),
                          sa.column('name_en', sa.String), sa.column('position', sa.Integer),
                          sa.column('active', sa.Boolean))
    op.bulk_insert(categories, [
        {'code': code, 'name': name, 'name_en': name_en, 'position': (i + 1) * 10, 'active': True}
        for i, (code, name, name_en) in enumerate([
            ('allowances', '违规发放津补贴', 'Improper allowances and subsidies'),
            ('three_public', '“三公”经费', '"Three public expenses"'),
            ('budget', '预算执行', 'Budget execution'),
            ('procurement', '政府采购', 'Government procurement'),
            ('state_assets', '国有资产', 'State-owned assets'),
            ('construction', '工程建设', 'Construction projects'),
            ('other', '其他', 'Other'),
        ])
    ])
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('kind', sa.Enum('audit', 'inspection', 'joint', name='project_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('lead_agency_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_projects_created_by_id_users')),
    sa.ForeignKeyConstraint(['lead_agency_id'], ['agencies.id'], name=op.f('fk_projects_lead_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('public_id', name=op.f('uq_projects_public_id'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_lead_agency_id'), ['lead_agency_id'], unique=False)

    op.create_table('settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )
    op.create_table('findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_agency_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('category_code', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('recommendation', sa.Text(), nullable=False),
    sa.Column('sensitivity', sa.Enum('normal', 'sensitive', name='sensitivity', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('draft', 'issued', name='finding_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_findings_amount_not_negative')),
    sa.ForeignKeyConstraint(['category_code'], ['categories.code'], name=op.f('fk_findings_category_code_categories')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_findings_created_by_id_users')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_findings_issued_by_id_users')),
    sa.ForeignKeyConstraint(['owner_agency_id'], ['agencies.id'], name=op.f('fk_findings_owner_agency_id_agencies')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_findings_project_id_projects')),
    sa.ForeignKeyConstraint(['unit_id'], ['agencies.id'], name=op.f('fk_findings_unit_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings')),
    sa.UniqueConstraint('public_id', name=op.f('uq_findings_public_id'))
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_owner_created', ['owner_agency_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_unit_id'), ['unit_id'], unique=False)

    op.create_table('project_members',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_members_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_project_members_user_id_users')),
    sa.PrimaryKeyConstraint('project_id', 'user_id', name=op.f('pk_project_members'))
    )
    op.create_table('project_units',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_project_units_agency_id_agencies')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_units_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'agency_id', name=op.f('pk_project_units'))
    )
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_name', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_attachments_finding_id_findings')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_attachments_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('public_id', name=op.f('uq_attachments_public_id')),
    sa.UniqueConstraint('storage_name', name=op.f('uq_attachments_storage_name'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_finding_id'), ['finding_id'], unique=False)

    op.create_table('finding_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('thread_agency_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_finding_comments_author_id_users')),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_finding_comments_finding_id_findings')),
    sa.ForeignKeyConstraint(['thread_agency_id'], ['agencies.id'], name=op.f('fk_finding_comments_thread_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_comments'))
    )
    with op.batch_alter_table('finding_comments', schema=None) as batch_op:
        batch_op.create_index('ix_finding_comments_thread', ['finding_id', 'thread_agency_id'], unique=False)

    op.create_table('finding_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('related_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('finding_id <> related_id', name=op.f('ck_finding_links_not_self')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_finding_links_created_by_id_users')),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_finding_links_finding_id_findings')),
    sa.ForeignKeyConstraint(['related_id'], ['findings.id'], name=op.f('fk_finding_links_related_id_findings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_links')),
    sa.UniqueConstraint('finding_id', 'related_id', name=op.f('uq_finding_links_finding_id_related_id'))
    )
    with op.batch_alter_table('finding_links', schema=None) as batch_op:
        batch_op.create_index('ix_finding_links_related_id', ['related_id'], unique=False)

    op.create_table('shares',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('handling', sa.Enum('read_only', 'may_refer', name='handling', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('shared_by_id', sa.Integer(), nullable=False),
    sa.Column('shared_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_shares_agency_id_agencies')),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_shares_finding_id_findings')),
    sa.ForeignKeyConstraint(['shared_by_id'], ['users.id'], name=op.f('fk_shares_shared_by_id_users')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_shares_withdrawn_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shares')),
    sa.UniqueConstraint('public_id', name=op.f('uq_shares_public_id'))
    )
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.create_index('ix_shares_agency_id', ['agency_id', 'withdrawn_at'], unique=False)
        batch_op.create_index('uq_shares_active_finding_agency', ['finding_id', 'agency_id'], unique=True, sqlite_where=sa.text('withdrawn_at IS NULL'), postgresql_where=sa.text('withdrawn_at IS NULL'))



def downgrade():
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_index('uq_shares_active_finding_agency', sqlite_where=sa.text('withdrawn_at IS NULL'), postgresql_where=sa.text('withdrawn_at IS NULL'))
        batch_op.drop_index('ix_shares_agency_id')

    op.drop_table('shares')
    with op.batch_alter_table('finding_links', schema=None) as batch_op:
        batch_op.drop_index('ix_finding_links_related_id')

    op.drop_table('finding_links')
    with op.batch_alter_table('finding_comments', schema=None) as batch_op:
        batch_op.drop_index('ix_finding_comments_thread')

    op.drop_table('finding_comments')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_finding_id'))

    op.drop_table('attachments')
    op.drop_table('project_units')
    op.drop_table('project_members')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_findings_unit_id'))
        batch_op.drop_index(batch_op.f('ix_findings_project_id'))
        batch_op.drop_index('ix_findings_owner_created')

    op.drop_table('findings')
    op.drop_table('settings')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_lead_agency_id'))

    op.drop_table('projects')
    op.drop_table('categories')
