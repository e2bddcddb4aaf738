/** Most days `reports summary` may cover (a year, leap day included). */
export const MAX_SUMMARY_DAYS = 366
