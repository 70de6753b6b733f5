#!/usr/bin/env python3
# extract-leaf-cert.py PCAP OUT.pem - write the first server certificate of a
# plain TLS (<= 1.2) handshake in a pcap (Ethernet/IPv4, server port 443)
# as PEM; prints the SHA-1 and SHA-256 on stderr.  Used once to make
# tests/fixtures/zeek/certs/ from the Zeek traces.
import struct,sys,hashlib,base64
data=open(sys.argv[1],'rb').read()
magic=struct.unpack('<I',data[:4])[0]
end='<' if magic in (0xa1b2c3d4,0xa1b23c4d) else '>'
linktype=struct.unpack(end+'I',data[20:24])[0]
off=24; streams={}
while off+16<=len(data):
    ts,us,incl,orig=struct.unpack(end+'IIII',data[off:off+16]); off+=16
    pkt=data[off:off+incl]; off+=incl
    if linktype==1: eth=pkt[14:]; et=struct.unpack('>H',pkt[12:14])[0]
    else: continue
    if et==0x8100: et=struct.unpack('>H',eth[2:4])[0]; eth=eth[4:]
    if et!=0x0800: continue
    ihl=(eth[0]&15)*4; proto=eth[9]
    if proto!=6: continue
    src='.'.join(map(str,eth[12:16])); tot=struct.unpack('>H',eth[2:4])[0]
    tcp=eth[ihl:tot]; sp,dp,seq=struct.unpack('>HHI',tcp[:8]); doff=(tcp[12]>>4)*4
    payload=tcp[doff:]
    if sp==443 and payload:
        streams.setdefault((src,dp),{})[seq]=payload
for k,segs in streams.items():
    buf=b''; 
    seqs=sorted(segs); nxt=seqs[0]
    for s in seqs:
        p=segs[s]
        if s<nxt: p=p[nxt-s:]
        elif s>nxt: break
        buf+=p; nxt=s+len(segs[s]) if s+len(segs[s])>nxt else nxt
    # tls records
    hs=b''; i=0
    while i+5<=len(buf):
        ct=buf[i]; ln=struct.unpack('>H',buf[i+3:i+5])[0]
        if ct==22: hs+=buf[i+5:i+5+ln]
        i+=5+ln
    j=0
    while j+4<=len(hs):
        t=hs[j]; ln=int.from_bytes(hs[j+1:j+4],'big')
        if t==11:
            body=hs[j+4:j+4+ln]; cl=int.from_bytes(body[3:6],'big'); cert=body[6:6+cl]
            print(k, hashlib.sha1(cert).hexdigest(), hashlib.sha256(cert).hexdigest(), file=sys.stderr)
            open(sys.argv[2],'w').write('-----BEGIN CERTIFICATE-----\n'+'\n'.join(base64.b64encode(cert).decode()[x:x+64] for x in range(0,len(base64.b64encode(cert)),64))+'\n-----END CERTIFICATE-----\n')
            sys.exit(0)
        j+=4+ln
