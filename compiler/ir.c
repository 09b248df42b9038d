/* ir.c — placeholder, being written */
