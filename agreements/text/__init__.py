"""Pure text functions, no ORM: placeholders, consolidation, redlines, comparisons, glossary."""
