// ElmoEmbeddings: see DESIGN.md for what this module holds.
