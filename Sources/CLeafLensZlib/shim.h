// zlib's crc32, for checking zip entries at memory speed (ZIPFoundation's own CRC on Linux is a Swift loop).
#include <zlib.h>
