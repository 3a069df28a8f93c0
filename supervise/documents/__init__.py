"""Official documents (公文) made from the records: the referral letter, the chaser letter, the
rectification notice, the sign-off sheet and the letter urging rectification, each with its
document number (文号), laid out after GB/T 9704-2012, as .docx (and PDF where LibreOffice is
installed), kept as versions of the record."""
