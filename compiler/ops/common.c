/* common.c — placeholder, being written */
