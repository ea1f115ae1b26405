# The codec: engine inputs <-> proto/glock_wire.proto, errors -> GlockStatus.
# Everything that talks protobuf to other nodes links this, not the
# generated code directly.
noinst_LTLIBRARIES += daemon/libglockcodec.la
daemon_libglockcodec_la_SOURCES = \
	daemon/codec.c \
	daemon/codec.h \
	daemon/p2p_codec.c \
	daemon/p2p_codec.h
daemon_libglockcodec_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon $(PROTOBUF_C_CFLAGS)
daemon_libglockcodec_la_LIBADD = \
	proto/libglockproto.la \
	daemon/engine/libglockengine.la \
	$(PROTOBUF_C_LIBS)
