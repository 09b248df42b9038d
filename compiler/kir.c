/* kir.c — placeholder, being written */
