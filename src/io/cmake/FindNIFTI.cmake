# Find module for nifti_clib, used by meson's cmake dependency method when
# nifti_clib's own NIFTIConfig.cmake is unusable.  Debian 12's libnifti2-dev
# ships a NIFTITargets-none.cmake that points at /usr/lib/libznz.so.3.0.0
# instead of the multiarch folder, so find_package(NIFTI CONFIG) fails with
# "The imported target NIFTI::znz references the file ... but this file does
# not exist".  This module searches the usual paths instead and defines the
# same imported targets: NIFTI::nifti2 and NIFTI::znz.

find_path(NIFTI_INCLUDE_DIR nifti2_io.h PATH_SUFFIXES nifti)
find_library(NIFTI_nifti2_LIBRARY nifti2)
find_library(NIFTI_znz_LIBRARY znz)
find_library(NIFTI_m_LIBRARY m)
find_package(ZLIB QUIET)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NIFTI
  REQUIRED_VARS NIFTI_nifti2_LIBRARY NIFTI_znz_LIBRARY NIFTI_INCLUDE_DIR ZLIB_FOUND)

if(NIFTI_FOUND)
  set(NIFTI_INCLUDE_DIRS ${NIFTI_INCLUDE_DIR})
  set(NIFTI_LIBRARIES ${NIFTI_nifti2_LIBRARY} ${NIFTI_znz_LIBRARY} ${ZLIB_LIBRARIES})
  if(NOT TARGET NIFTI::znz)
    add_library(NIFTI::znz UNKNOWN IMPORTED)
    set_target_properties(NIFTI::znz PROPERTIES
      IMPORTED_LOCATION "${NIFTI_znz_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${NIFTI_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${ZLIB_LIBRARIES}")
  endif()
  if(NOT TARGET NIFTI::nifti2)
    add_library(NIFTI::nifti2 UNKNOWN IMPORTED)
    set_target_properties(NIFTI::nifti2 PROPERTIES
      IMPORTED_LOCATION "${NIFTI_nifti2_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${NIFTI_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "NIFTI::znz;${NIFTI_m_LIBRARY}")
  endif()
endif()
mark_as_advanced(NIFTI_INCLUDE_DIR NIFTI_nifti2_LIBRARY NIFTI_znz_LIBRARY NIFTI_m_LIBRARY)
