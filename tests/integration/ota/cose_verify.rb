#!/usr/bin/ruby
# Verify a ward manifest with a generic COSE implementation: the `cose` gem
# (Debian ruby-cose). The kid is the SHA-256 of the key's DER
# SubjectPublicKeyInfo (docs/manifest.md §2).
#
#   cose_verify.rb MANIFEST PUBKEY.pem   -> exit 0 and "ok", or exit 1 and why
require "cose"
require "openssl"

manifest = File.binread(ARGV.fetch(0))
key = OpenSSL::PKey.read(File.read(ARGV.fetch(1)))
# The gem accepts an OpenSSL key as is (its COSE::Key::EC2#to_pkey builds
# one by mutation, which OpenSSL 3 forbids); Sign1#verify asks it its kid.
kid = OpenSSL::Digest::SHA256.digest(key.public_to_der)
key.define_singleton_method(:kid) { kid }
begin
  msg = COSE::Sign1.deserialize(manifest)
  raise COSE::Error, "alg #{msg.headers.alg}" unless msg.headers.alg == -7
  msg.verify(key)
  puts "ok"
rescue StandardError => e
  puts "refused: #{e.class}: #{e.message}"
  exit 1
end
